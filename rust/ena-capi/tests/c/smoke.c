/*
 * The C side of the ABI, as QEMU's device sees it: the header's layouts
 * agree with the Rust ones, and a reset handshake and an admin command run
 * through the exported functions with callbacks written in C.
 */
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ena_model.h"

_Static_assert(sizeof(struct ena_model_host) == 88, "host callbacks");
_Static_assert(sizeof(struct ena_model_config) == 28, "config");
_Static_assert(offsetof(struct ena_model_config, msix_vectors) == 24, "config.msix_vectors");
_Static_assert(offsetof(struct ena_model_config, checker_response) == 26, "config.checker_response");
_Static_assert(offsetof(struct ena_model_config, intr_delay_resolution) == 20,
	       "config.intr_delay_resolution");
_Static_assert(offsetof(struct ena_model_config, rx_offset) == 22, "config.rx_offset");
_Static_assert(offsetof(struct ena_model_config, rx_hold) == 23, "config.rx_hold");
_Static_assert(offsetof(struct ena_model_config, llq) == 6, "config.llq");
_Static_assert(offsetof(struct ena_model_config, llq_large) == 7, "config.llq_large");
_Static_assert(offsetof(struct ena_model_config, max_mtu) == 8, "config.max_mtu");
_Static_assert(sizeof(struct ena_model_stats) == 136, "stats");
_Static_assert(offsetof(struct ena_model_stats, rx_overruns) == 104, "stats.rx_overruns");
_Static_assert(offsetof(struct ena_model_stats, tx_drops) == 72, "stats.tx_drops");
_Static_assert(offsetof(struct ena_model_stats, llq_burst_errors) == 88, "stats.llq_burst_errors");

#define MEM_BASE 0x100000u
#define MEM_SIZE 0x10000u
static unsigned char mem[MEM_SIZE];
static int irqs;

static int rd(void *o, uint64_t a, void *b, size_t n)
{
	(void)o;
	if (a < MEM_BASE || a + n > MEM_BASE + MEM_SIZE)
		return 1;
	memcpy(b, mem + (a - MEM_BASE), n);
	return 0;
}
static int wr(void *o, uint64_t a, const void *b, size_t n)
{
	(void)o;
	if (a < MEM_BASE || a + n > MEM_BASE + MEM_SIZE)
		return 1;
	memcpy(mem + (a - MEM_BASE), b, n);
	return 0;
}
static void irq(void *o, uint16_t v) { (void)o; (void)v; irqs++; }
static void tx(void *o, const uint8_t *f, size_t n) { (void)o; (void)f; (void)n; }
static void space(void *o) { (void)o; }
static void llq(void *o, uint64_t off, void *b, size_t n) { (void)o; (void)off; memset(b, 0, n); }
static void later(void *o) { (void)o; }
static uint64_t now(void *o) { (void)o; return 0; }
static void wake(void *o, uint64_t us) { (void)o; (void)us; }

int main(void)
{
	const struct ena_model_host host = { NULL, rd, wr, irq, tx, space, llq, later, now, wake, NULL };
	const struct ena_model_config cfg = { { 2, 0xe1, 0xab, 0, 0, 7 }, true, true, 9216, 25000, 4,
					      1, 0, false, 9, 0, 0 };
	struct ena_model *m = ena_model_new(&cfg, &host);
	struct ena_model_stats s;
	unsigned char *aq = mem, *acq = mem + 0x1000;

	assert(m);
	/* DEV_STS ready; reset in, reset out (ena_com_dev_reset). */
	assert(ena_model_mmio_read(m, 0x58) & 1);
	ena_model_mmio_write(m, 0x54, 1);
	assert(ena_model_mmio_read(m, 0x58) & 0x8);
	ena_model_mmio_write(m, 0x54, 0);
	assert(!(ena_model_mmio_read(m, 0x58) & 0x8));
	/* Admin queues at MEM_BASE, depth 4; GET_FEATURE DEVICE_ATTRIBUTES. */
	ena_model_mmio_write(m, 0x10, MEM_BASE);
	ena_model_mmio_write(m, 0x14, 0);
	ena_model_mmio_write(m, 0x18, 4 | 64 << 16);
	ena_model_mmio_write(m, 0x20, MEM_BASE + 0x1000);
	ena_model_mmio_write(m, 0x24, 0);
	ena_model_mmio_write(m, 0x28, 4 | 64 << 16);
	aq[0] = 5;   /* command id */
	aq[2] = 8;   /* GET_FEATURE */
	aq[3] = 1;   /* phase */
	aq[17] = 1;  /* DEVICE_ATTRIBUTES */
	ena_model_mmio_write(m, 0x2c, 1);
	assert(acq[0] == 5 && acq[2] == 0 && (acq[3] & 1));
	assert(!memcmp(acq + 8 + 24, cfg.mac, 6));
	assert(irqs == 1);
	/* An address outside guest memory reads as zeros: no crash. */
	ena_model_mmio_write(m, 0x10, 0xdead0000u);
	ena_model_mmio_write(m, 0x2c, 2);
	ena_model_stats(m, &s);
	assert(s.admin_commands == 1 && s.resets == 1);
	ena_model_free(m);
	puts("ena-capi C smoke: ok");
	return 0;
}
