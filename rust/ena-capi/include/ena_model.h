/*
 * The ENA device model (rust/ena-model) behind a C ABI. One model is one
 * ENA PCI function: the host gives it callbacks for DMA, MSI-X and the
 * network, and forwards BAR0 accesses, received frames, link changes and a
 * one-second tick. Single-threaded: every call, and every callback, runs
 * with the caller's lock held (QEMU's BQL); a callback must not call back
 * into the same model.
 */
#ifndef ENA_MODEL_H
#define ENA_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ena_model;

struct ena_model_host {
	void *opaque;
	/* Device-side DMA; nonzero when the address is not memory. */
	int (*dma_read)(void *opaque, uint64_t addr, void *buf, size_t len);
	int (*dma_write)(void *opaque, uint64_t addr, const void *buf, size_t len);
	/* Raise MSI-X vector: 0 is management, 1.. the IO queue pairs. */
	void (*interrupt)(void *opaque, uint16_t vector);
	/* A frame the device sends. */
	void (*transmit)(void *opaque, const uint8_t *frame, size_t len);
	/* Rx buffers were posted: frames held back may be offered again. */
	void (*rx_space)(void *opaque);
	/* Read len bytes of the device's own memory (BAR2) at offset. */
	void (*llq_read)(void *opaque, uint64_t offset, void *buf, size_t len);
	/* Work for later: call ena_model_run_deferred soon, outside this call. */
	void (*defer)(void *opaque);
	/* The host's clock, in microseconds (QEMU: its virtual clock). */
	uint64_t (*now_us)(void *opaque);
	/* Call ena_model_run_timers at us on that clock, or later. */
	void (*wake_at)(void *opaque, uint64_t us);
	/* One line of the device's trace, without its newline (NULL: none;
	 * the config's trace turns it on). */
	void (*trace)(void *opaque, const char *line, size_t len);
};

struct ena_model_config {
	uint8_t mac[6];
	bool llq;		/* offer LLQ (device placement), as Nitro does */
	bool llq_large;		/* recommend 256-byte LLQ entries (Nitro v4+) */
	uint32_t max_mtu;
	uint32_t link_speed_mbps;
	/* 0: Tx completions inside the doorbell, in order; N: deferred, each
	 * group of N written in reverse (out of order, as hardware may). */
	uint32_t tx_completion_window;
	/* Interrupt moderation: microseconds per unit of the delays the driver
	 * writes to the unmask registers; 0 offers no moderation. */
	uint16_t intr_delay_resolution;
	/* Where a frame starts in its first Rx buffer, for a driver that says
	 * it takes an offset; 0: at the start. */
	uint8_t rx_offset;
	/* Frames without Rx buffers: false drops them and counts rx_overruns,
	 * as hardware does; true leaves them to the caller (can_receive false,
	 * receive false), which queues them until rx_space. */
	bool rx_hold;
	/* MSI-X vectors of the function (a CQ's vector past them is a violation). */
	uint16_t msix_vectors;
	/* The protocol checker: 0 counts violations, 1 also posts
	 * DEVICE_REQUEST_RESET, as a device that found itself unhealthy. */
	uint8_t checker_response;
	/* Trace what the driver does, a line each, through host->trace. */
	bool trace;
};

struct ena_model_stats {
	uint64_t tx_pkts, tx_bytes, rx_pkts, rx_bytes, rx_drops;
	uint64_t interrupts, admin_commands, unsupported, resets;
	uint64_t tx_drops;	/* too many descriptors, or longer than the MTU + 18 */
	uint64_t llq_entries, llq_burst_errors;
	uint64_t tx_reordered;	/* completions written before an earlier packet's */
	uint64_t rx_overruns;	/* frames dropped: no Rx buffer posted */
	uint64_t moderated_interrupts;	/* raised after a moderation delay */
	uint64_t cached_meta_uses;	/* Tx packets sent with their queue's kept meta */
	uint64_t tx_csum_offloads;	/* Tx packets whose L4 checksum the device finished */
};

/* BAR0: the ENA registers, doorbells at 0x1000, unmask registers at
 * 0x2000 and the model's test port at 0x3000. */
#define ENA_MODEL_BAR0_SIZE 0x4000
/* BAR2: the device memory LLQ entries are written to (prefetchable, mapped
 * write-combined by the drivers); the model reads it through llq_read. */
#define ENA_MODEL_LLQ_BAR_SIZE 0x400000

/*
 * The test port: fault switches and counters no driver touches, at BAR0
 * ENA_MODEL_TEST_PORT. QEMU's device also shows it at config space
 * ENA_MODEL_TEST_PORT_CFG (a guest reaches config space through sysfs even
 * while a driver owns BAR0). This header is the one definition: the model
 * (rust/ena-model, checked by a test), the QEMU device and enaport use it.
 */
#define ENA_MODEL_TEST_PORT 0x3000
#define ENA_MODEL_TEST_PORT_CFG 0xc0
#define ENA_MODEL_TEST_PORT_SIZE 0x40
/* Registers of the port, by offset within it. */
#define ENA_PORT_FAULTS 0x00		/* write: faults to arm; read: those still armed */
#define ENA_PORT_RESETS 0x04		/* device resets (ena_com_dev_reset) */
#define ENA_PORT_LAST_RESET_REASON 0x08	/* enum ena_regs_reset_reason_types */
#define ENA_PORT_UNSUPPORTED 0x0c	/* admin commands answered "unsupported" */
#define ENA_PORT_ADMIN_COMMANDS 0x10	/* admin commands executed */
#define ENA_PORT_FEATURES_ASKED 0x14	/* bit N: feature N asked for (GET or SET) */
#define ENA_PORT_FEATURES_REFUSED 0x18	/* bit N: feature N answered unsupported */
#define ENA_PORT_LINK 0x1c		/* 1: link up; write 0 or 1 to cut or restore it */
#define ENA_PORT_LLQ_ENTRY_SIZE 0x20	/* LLQ entry bytes the driver chose; 0: none */
#define ENA_PORT_LLQ_QUEUES 0x24	/* live Tx queues in device placement */
#define ENA_PORT_LLQ_ENTRIES 0x28	/* LLQ entries read from device memory */
#define ENA_PORT_LLQ_BURST_ERRORS 0x2c	/* doorbells after more entries than the burst limit */
#define ENA_PORT_TX_REORDERED 0x30	/* Tx completions written out of send order */
#define ENA_PORT_COUNTER_SELECT 0x34	/* write: which counter ENA_PORT_COUNTER reads */
#define ENA_PORT_COUNTER 0x38	/* the selected ENA_COUNTER_* */
#define ENA_PORT_HINTS 0x3c	/* write: UPDATE_HINTS with this keep-alive timeout, ms */
/* Counters, the values of ENA_PORT_COUNTER_SELECT. */
#define ENA_COUNTER_MODERATED_INTERRUPTS 0	/* raised after a moderation delay */
#define ENA_COUNTER_INTR_DELAYS 1	/* last unmask's delays: Rx 15:0, Tx 31:16 */
#define ENA_COUNTER_CACHED_META_USES 2	/* Tx packets sent with their queue's kept meta */
#define ENA_COUNTER_TX_CSUM_OFFLOADS 3	/* Tx L4 checksums the device finished */
#define ENA_COUNTER_RX_OVERRUNS 4	/* frames dropped: no Rx buffer posted */
#define ENA_COUNTER_RX_DROPS 5	/* frames dropped otherwise (too long, link down) */
#define ENA_COUNTER_RX_PKTS 6	/* frames received */
#define ENA_COUNTER_RX_OFFSET 7	/* the Rx offset in use */
#define ENA_COUNTER_READLESS_READS 8	/* registers read the read-less way */
#define ENA_COUNTER_VIOLATIONS 16	/* protocol violations in all */
#define ENA_COUNTER_FIRST_CHECK 17	/* the check that fired first, plus one; 0: none */
#define ENA_COUNTER_CHECK_BASE 32	/* + c: how often check c fired */
#define ENA_COUNTER_FIRST_BASE 64	/* + 2c: check c's first queue << 16 | slot; + 2c + 1: value */

/*
 * The protocol checker's checks (rust/ena-model/src/device/checker.rs says
 * what each requires of a driver, and where in ena_com that is).
 */
#define ENA_CHECK_TX_NO_COMP_REQ 0	/* a Tx packet without COMP_REQ */
#define ENA_CHECK_TX_FRAMING 1	/* FIRST missing, or inside a packet */
#define ENA_CHECK_TX_MBZ 2	/* MBZ bits set in a Tx descriptor */
#define ENA_CHECK_TX_ZERO_LENGTH 3	/* a Tx buffer of length 0 */
#define ENA_CHECK_TX_REQ_ID_RANGE 4	/* a Tx request id past the depth */
#define ENA_CHECK_TX_REQ_ID_REUSED 5	/* a Tx request id still out */
#define ENA_CHECK_TX_HEADER_TOO_LONG 6	/* a header past max_header_size */
#define ENA_CHECK_TX_TOO_MANY_DESCS 7	/* past max_packet_tx_descs */
#define ENA_CHECK_TX_ABOVE_MTU 8	/* a frame longer than the MTU set */
#define ENA_CHECK_STALE_PHASE 9	/* a doorbell before the write (missing barrier) */
#define ENA_CHECK_DOORBELL_BACKWARDS 10	/* a tail that went back */
#define ENA_CHECK_DOORBELL_OVERFILL 11	/* more entries than the ring holds */
#define ENA_CHECK_DOORBELL_UNKNOWN_QUEUE 12	/* a destroyed or never-created queue */
#define ENA_CHECK_RX_DESC_FLAGS 13	/* FIRST/LAST/COMP_REQ, MBZ or phase wrong */
#define ENA_CHECK_RX_REQ_ID_REUSED 14	/* an Rx request id posted twice or past the depth */
#define ENA_CHECK_DMA_OUTSIDE 15	/* DMA past the width or outside guest memory */
#define ENA_CHECK_ADMIN_ID_REUSED 16	/* an admin command id still in flight */
#define ENA_CHECK_FEATURE_NOT_OFFERED 17	/* a feature not in supported_features */
#define ENA_CHECK_COMMAND_DURING_RESET 18	/* an admin doorbell in reset */
#define ENA_CHECK_CQ_DESTROYED_BEFORE_SQ 19	/* DESTROY_CQ under a live SQ */
#define ENA_CHECK_MSIX_OUT_OF_TABLE 20	/* an IO vector past the table (or 0) */
#define ENA_CHECK_UNMASK_UNKNOWN_CQ 21	/* an unmask of a CQ that does not exist */
#define ENA_CHECK_AENQ_HEAD_BEYOND_TAIL 22	/* more events consumed than written */
#define ENA_CHECK_RESET_REASON_RANGE 23	/* a reset reason not offered */
#define ENA_CHECK_LLQ_BURST 24	/* LLQ entries past the burst limit */
#define ENA_CHECK_LLQ_PARTIAL_ENTRY 25	/* part of an LLQ entry written */
#define ENA_CHECK_LLQ_OUT_OF_ORDER 26	/* LLQ entries written out of tail order */
#define ENA_CHECK_COUNT 27
/* Their names, in id order (what enaport prints). */
#define ENA_CHECK_NAMES { "tx-no-comp-req", "tx-framing", "tx-mbz", "tx-zero-length", \
	"tx-req-id-range", "tx-req-id-reused", "tx-header-too-long", "tx-too-many-descs", \
	"tx-above-mtu", "stale-phase", "doorbell-backwards", "doorbell-overfill", \
	"doorbell-unknown-queue", "rx-desc-flags", "rx-req-id-reused", "dma-outside", \
	"admin-id-reused", "feature-not-offered", "command-during-reset", \
	"cq-destroyed-before-sq", "msix-out-of-table", "unmask-unknown-cq", \
	"aenq-head-beyond-tail", "reset-reason-range", "llq-burst", "llq-partial-entry", \
	"llq-out-of-order" }
/* Faults, the bits of ENA_PORT_FAULTS. */
#define ENA_FAULT_WITHHOLD_KEEP_ALIVE (1u << 0)	/* until the next device reset */
#define ENA_FAULT_WITHHOLD_COMPLETION (1u << 1)	/* the next admin command never completes */
#define ENA_FAULT_WRONG_COMPLETION_ID (1u << 2)	/* the next admin completion has another id */
#define ENA_FAULT_WITHHOLD_TX_COMPLETIONS (1u << 3)	/* until the next device reset */

/* NULL when an argument is NULL or a callback is missing. */
struct ena_model *ena_model_new(const struct ena_model_config *config,
				const struct ena_model_host *host);
void ena_model_free(struct ena_model *model);
uint32_t ena_model_mmio_read(struct ena_model *model, uint32_t offset);
void ena_model_mmio_write(struct ena_model *model, uint32_t offset, uint32_t value);
/* Whether a frame of len bytes fits the Rx buffers posted now (always
 * true without rx_hold: the device takes every frame, as hardware does). */
bool ena_model_can_receive(const struct ena_model *model, size_t len);
/* True when the frame was taken (delivered, or dropped); false only with
 * rx_hold, when no Rx buffer can hold it yet. */
bool ena_model_receive(struct ena_model *model, const uint8_t *frame, size_t len);
void ena_model_set_link(struct ena_model *model, bool up);
/* Once a second: the keep-alive event the driver's watchdog waits for. */
void ena_model_tick(struct ena_model *model);
/* The deferred work a defer callback asked for (Tx completions). */
void ena_model_run_deferred(struct ena_model *model);
/* The time a wake_at callback asked for has come (moderated interrupts). */
void ena_model_run_timers(struct ena_model *model);
/* PCI reset: as after power-on. */
void ena_model_reset(struct ena_model *model);
void ena_model_stats(const struct ena_model *model, struct ena_model_stats *out);

#endif
