/*
 * enaport: read or write the ENA model's test port from inside the guest.
 * QEMU's ena device shows the port at config space 0xe0..0xff (offset 0 of
 * the port is config 0xe0): sysfs' config file reaches it even while a
 * driver owns the device, and no ENA driver reads there.
 *
 *   enaport BDF read OFFSET        OFFSET within the port: 0x0..0x1c
 *   enaport BDF write OFFSET VALUE
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT_BASE 0xe0
#define PORT_SIZE 0x20

static unsigned long parse(const char *what, const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "enaport: %s '%s' is not a number up to %#lx\n", what, s, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	char path[256];
	unsigned long off;
	uint32_t v;
	int fd, write_op;
	ssize_t n;

	if (argc < 4 || (strcmp(argv[2], "read") && strcmp(argv[2], "write")) ||
	    (!strcmp(argv[2], "write") && argc != 5)) {
		fprintf(stderr, "usage: enaport BDF read OFFSET | enaport BDF write OFFSET VALUE\n");
		return 2;
	}
	write_op = !strcmp(argv[2], "write");
	off = parse("offset", argv[3], PORT_SIZE - 4);
	if (off % 4) {
		fprintf(stderr, "enaport: offset %#lx is not 32-bit aligned\n", off);
		return 2;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", argv[1]);
	fd = open(path, write_op ? O_WRONLY : O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "enaport: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (write_op) {
		v = (uint32_t)parse("value", argv[4], 0xffffffffUL);
		n = pwrite(fd, &v, sizeof(v), PORT_BASE + off);
	} else {
		n = pread(fd, &v, sizeof(v), PORT_BASE + off);
	}
	if (n != sizeof(v)) {
		fprintf(stderr, "enaport: %s at %#lx: %s\n", path, PORT_BASE + off, n < 0 ? strerror(errno) : "short transfer");
		return 1;
	}
	if (!write_op)
		printf("%u\n", v);
	close(fd);
	return 0;
}
