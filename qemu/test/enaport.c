/*
 * enaport: read or write the ENA model's test port from inside the guest,
 * by name. QEMU's ena device shows the port in config space (ena_model.h):
 * sysfs' config file reaches it even while a driver owns the device, and
 * no ENA driver reads there.
 *
 *   enaport BDF read REGISTER          faults resets last-reset-reason unsupported
 *                                      admin-commands features-asked features-refused link
 *                                      llq-entry-size llq-queues llq-entries llq-burst-errors
 *                                      tx-reordered, and the counters behind the selector:
 *                                      moderated-interrupts intr-delays cached-meta-uses
 *                                      tx-csum-offloads rx-overruns rx-drops rx-pkts rx-offset
 *                                      readless-reads
 *   enaport BDF write REGISTER VALUE   (faults, link, hints: an UPDATE_HINTS notification
 *                                      with this keep-alive timeout in ms)
 *   enaport BDF fault FAULT...         arm faults: withhold-keep-alive withhold-completion
 *                                      wrong-completion-id withhold-tx-completions
 *   enaport BDF checks                 the protocol checker's findings, one line per check
 *                                      that fired: name, count, first queue, slot and value;
 *                                      exits 3 when there is any (1: the port is unreachable)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ena_model.h"

struct name {
	const char *name;
	uint32_t value;
};

static const struct name registers[] = {
	{ "faults", ENA_PORT_FAULTS },
	{ "resets", ENA_PORT_RESETS },
	{ "last-reset-reason", ENA_PORT_LAST_RESET_REASON },
	{ "unsupported", ENA_PORT_UNSUPPORTED },
	{ "admin-commands", ENA_PORT_ADMIN_COMMANDS },
	{ "features-asked", ENA_PORT_FEATURES_ASKED },
	{ "features-refused", ENA_PORT_FEATURES_REFUSED },
	{ "link", ENA_PORT_LINK },
	{ "llq-entry-size", ENA_PORT_LLQ_ENTRY_SIZE },
	{ "llq-queues", ENA_PORT_LLQ_QUEUES },
	{ "llq-entries", ENA_PORT_LLQ_ENTRIES },
	{ "llq-burst-errors", ENA_PORT_LLQ_BURST_ERRORS },
	{ "tx-reordered", ENA_PORT_TX_REORDERED },
	{ "hints", ENA_PORT_HINTS },
	{ NULL, 0 },
};

/* Read through ENA_PORT_COUNTER_SELECT and ENA_PORT_COUNTER. */
static const struct name counters[] = {
	{ "moderated-interrupts", ENA_COUNTER_MODERATED_INTERRUPTS },
	{ "intr-delays", ENA_COUNTER_INTR_DELAYS },
	{ "cached-meta-uses", ENA_COUNTER_CACHED_META_USES },
	{ "tx-csum-offloads", ENA_COUNTER_TX_CSUM_OFFLOADS },
	{ "rx-overruns", ENA_COUNTER_RX_OVERRUNS },
	{ "rx-drops", ENA_COUNTER_RX_DROPS },
	{ "rx-pkts", ENA_COUNTER_RX_PKTS },
	{ "rx-offset", ENA_COUNTER_RX_OFFSET },
	{ "readless-reads", ENA_COUNTER_READLESS_READS },
	{ "violations", ENA_COUNTER_VIOLATIONS },
	{ NULL, 0 },
};

static const struct name faults[] = {
	{ "withhold-keep-alive", ENA_FAULT_WITHHOLD_KEEP_ALIVE },
	{ "withhold-completion", ENA_FAULT_WITHHOLD_COMPLETION },
	{ "wrong-completion-id", ENA_FAULT_WRONG_COMPLETION_ID },
	{ "withhold-tx-completions", ENA_FAULT_WITHHOLD_TX_COMPLETIONS },
	{ NULL, 0 },
};

static const struct name *find(const struct name *table, const char *s)
{
	const struct name *n;

	for (n = table; n->name; n++)
		if (!strcmp(n->name, s))
			return n;
	return NULL;
}

static uint32_t lookup(const char *what, const struct name *table, const char *s)
{
	const struct name *n = find(table, s);

	if (n)
		return n->value;
	fprintf(stderr, "enaport: unknown %s '%s'; known:", what, s);
	for (n = table; n->name; n++)
		fprintf(stderr, " %s", n->name);
	if (table == registers)
		for (n = counters; n->name; n++)
			fprintf(stderr, " %s", n->name);
	fprintf(stderr, "\n");
	exit(2);
}

/* One 32-bit access to the port through config space. */
static void port(int fd, const char *path, int write_op, uint32_t off, uint32_t *v)
{
	ssize_t n = write_op ? pwrite(fd, v, sizeof(*v), ENA_MODEL_TEST_PORT_CFG + off)
			     : pread(fd, v, sizeof(*v), ENA_MODEL_TEST_PORT_CFG + off);

	if (n != sizeof(*v)) {
		fprintf(stderr, "enaport: %s at %#x: %s\n", path, ENA_MODEL_TEST_PORT_CFG + off,
			n < 0 ? strerror(errno) : "short transfer");
		exit(1);
	}
}

static uint32_t parse(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > 0xffffffffUL) {
		fprintf(stderr, "enaport: value '%s' is not a 32-bit number\n", s);
		exit(2);
	}
	return (uint32_t)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: enaport BDF read REGISTER | enaport BDF write REGISTER VALUE | "
		"enaport BDF fault FAULT... | enaport BDF checks\n");
	exit(2);
}

/* A counter behind the selector. */
static uint32_t counter(int fd, const char *path, uint32_t id)
{
	uint32_t v = 0;

	port(fd, path, 1, ENA_PORT_COUNTER_SELECT, &id);
	port(fd, path, 0, ENA_PORT_COUNTER, &v);
	return v;
}

/* Every check that fired, with its first instance; 3 when any did. */
static int checks(int fd, const char *path)
{
	static const char *const names[ENA_CHECK_COUNT] = ENA_CHECK_NAMES;
	uint32_t c, n, at, value;
	int any = 0;

	for (c = 0; c < ENA_CHECK_COUNT; c++) {
		n = counter(fd, path, ENA_COUNTER_CHECK_BASE + c);
		if (!n)
			continue;
		at = counter(fd, path, ENA_COUNTER_FIRST_BASE + 2 * c);
		value = counter(fd, path, ENA_COUNTER_FIRST_BASE + 2 * c + 1);
		printf("%s %u first: queue %u slot %u value %#x\n", names[c], n, at >> 16,
		       at & 0xffff, value);
		any = 3;
	}
	return any;
}

/* Opens BDF's config space: the port lives there. */
static int open_port(const char *bdf, char *path, size_t len, int flags)
{
	int fd;

	snprintf(path, len, "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, flags);
	if (fd < 0) {
		fprintf(stderr, "enaport: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const struct name *sel = NULL;
	char path[256];
	uint32_t off = 0, v = 0;
	int fd, i, rc, write_op;

	if (argc == 3 && !strcmp(argv[2], "checks")) {
		fd = open_port(argv[1], path, sizeof(path), O_RDWR);
		rc = checks(fd, path);
		close(fd);
		return rc;
	}
	if (argc < 4)
		usage();
	if (!strcmp(argv[2], "read") && argc == 4) {
		write_op = 0;
		sel = find(counters, argv[3]);
		if (!sel)
			off = lookup("register", registers, argv[3]);
	} else if (!strcmp(argv[2], "write") && argc == 5) {
		write_op = 1;
		off = lookup("register", registers, argv[3]);
		v = parse(argv[4]);
	} else if (!strcmp(argv[2], "fault")) {
		write_op = 1;
		off = ENA_PORT_FAULTS;
		for (i = 3; i < argc; i++)
			v |= lookup("fault", faults, argv[i]);
	} else {
		usage();
	}
	fd = open_port(argv[1], path, sizeof(path), write_op || sel ? O_RDWR : O_RDONLY);
	if (sel)
		v = counter(fd, path, sel->value);
	else
		port(fd, path, write_op, off, &v);
	if (!write_op)
		printf("%u\n", v);
	close(fd);
	return 0;
}
