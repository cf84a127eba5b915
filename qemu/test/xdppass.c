/*
 * xdppass: attach (or detach) a two-instruction XDP program, XDP_PASS, in
 * the driver's own mode (XDP_FLAGS_DRV_MODE), so the driver's ndo_bpf and
 * its XDP Rx and Tx queues run. No clang, no BPF object file: the program
 * is loaded with bpf(2) and attached with one RTM_SETLINK.
 *
 *   xdppass IFNAME attach   exit 0 when the driver took the program; else
 *                           the kernel's error and its extack message
 *   xdppass IFNAME detach
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

static int load_pass_program(void)
{
	/* r0 = XDP_PASS; exit */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[4096];
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_XDP;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (unsigned long)"GPL";
	attr.log_buf = (unsigned long)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	int fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		fprintf(stderr, "xdppass: BPF_PROG_LOAD: %s\n%s", strerror(errno), log);
	return fd;
}

struct request {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char attrs[64];
};

static struct rtattr *put(struct request *req, unsigned short type, const void *data, unsigned short len)
{
	struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

/* The kernel's answer: 0, or its errno after printing its extack text. */
static int read_ack(int sock)
{
	char buf[8192];
	ssize_t n = recv(sock, buf, sizeof(buf), 0);
	if (n < 0) {
		perror("xdppass: recv");
		return errno;
	}
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(nh, (unsigned int)n) || nh->nlmsg_type != NLMSG_ERROR) {
		fprintf(stderr, "xdppass: unexpected netlink answer type %u\n", nh->nlmsg_type);
		return EPROTO;
	}
	struct nlmsgerr *err = NLMSG_DATA(nh);
	if (err->error == 0)
		return 0;
	fprintf(stderr, "xdppass: RTM_SETLINK: %s", strerror(-err->error));
	/* With NETLINK_EXT_ACK the message follows the echoed request. */
	if (nh->nlmsg_flags & NLM_F_ACK_TLVS) {
		size_t off = sizeof(*err) + ((nh->nlmsg_flags & NLM_F_CAPPED) ? 0 : err->msg.nlmsg_len - NLMSG_HDRLEN);
		struct rtattr *a = (struct rtattr *)((char *)err + NLMSG_ALIGN(off));
		int left = (int)nh->nlmsg_len - (int)((char *)a - (char *)nh);
		for (; RTA_OK(a, left); a = RTA_NEXT(a, left))
			if (a->rta_type == NLMSGERR_ATTR_MSG)
				fprintf(stderr, ": %s", (char *)RTA_DATA(a));
	}
	fputc('\n', stderr);
	return -err->error;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "attach") && strcmp(argv[2], "detach"))) {
		fprintf(stderr, "usage: xdppass IFNAME attach|detach\n");
		return 2;
	}
	unsigned int ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "xdppass: no interface %s\n", argv[1]);
		return 2;
	}
	int prog = -1;
	if (!strcmp(argv[2], "attach") && (prog = load_pass_program()) < 0)
		return 1;

	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int one = 1;
	if (sock < 0 || setsockopt(sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one))) {
		perror("xdppass: netlink");
		return 1;
	}
	struct request req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_SETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	struct rtattr *xdp = put(&req, IFLA_XDP | NLA_F_NESTED, NULL, 0);
	unsigned int flags = XDP_FLAGS_DRV_MODE;
	put(&req, IFLA_XDP_FD, &prog, sizeof(prog));
	put(&req, IFLA_XDP_FLAGS, &flags, sizeof(flags));
	xdp->rta_len = (unsigned short)((char *)&req + req.nh.nlmsg_len - (char *)xdp);

	if (send(sock, &req, req.nh.nlmsg_len, 0) < 0) {
		perror("xdppass: send");
		return 1;
	}
	return read_ack(sock) ? 1 : 0;
}
