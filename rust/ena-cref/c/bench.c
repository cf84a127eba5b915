// ENA Lab: the C side of rust/bench.sh. The loops are C, so the C original
// pays what a kernel caller pays per packet (a call into ena_eth_com.c, as
// ena_netdev.c makes it, and the header's inline helpers) and no more: the
// workload is turned into ena_com_tx_ctx once, before the clock starts, and
// a whole round is one call from Rust. examples/bench.rs runs the same loop
// in Rust over the same workload.
#include <stdlib.h>

#include "cref.h"

struct cref_bench {
	struct ena_com_tx_ctx *ctx;
	struct ena_com_buf *bufs;
	u32 n;
};

/* The workload as ena_com takes it: n packets (a power of two), each with
 * its buffers and, when headers is not NULL, its header to push at
 * headers + i * header_stride. */
struct cref_bench *cref_bench_new(const struct cref_tx_in *pkts, u32 n, const u8 *headers,
				  u32 header_stride)
{
	struct cref_bench *b = calloc(1, sizeof(*b));
	u32 i, k, nbufs = 0;

	if (!b)
		return NULL;
	for (i = 0; i < n; i++)
		nbufs += pkts[i].num_bufs;
	b->ctx = calloc(n, sizeof(*b->ctx));
	b->bufs = calloc(nbufs ? nbufs : 1, sizeof(*b->bufs));
	if (!b->ctx || !b->bufs) {
		free(b->ctx);
		free(b->bufs);
		free(b);
		return NULL;
	}
	b->n = n;
	nbufs = 0;
	for (i = 0; i < n; i++) {
		const struct cref_tx_in *in = &pkts[i];
		struct ena_com_tx_ctx *ctx = &b->ctx[i];

		ctx->ena_bufs = &b->bufs[nbufs];
		for (k = 0; k < in->num_bufs; k++) {
			b->bufs[nbufs].paddr = in->paddr[k];
			b->bufs[nbufs].len = in->len[k];
			nbufs++;
		}
		ctx->num_bufs = in->num_bufs;
		ctx->push_header = headers ? (void *)(headers + (size_t)i * header_stride) : NULL;
		ctx->req_id = in->req_id;
		ctx->header_len = in->header_len;
		ctx->ena_meta.mss = in->mss;
		ctx->ena_meta.l3_hdr_len = in->l3_hdr_len;
		ctx->ena_meta.l3_hdr_offset = in->l3_hdr_offset;
		ctx->ena_meta.l4_hdr_len = in->l4_hdr_len;
		ctx->l3_proto = in->l3_proto;
		ctx->l4_proto = in->l4_proto;
		ctx->meta_valid = in->meta_valid;
		ctx->tso_enable = in->tso;
		ctx->l3_csum_enable = in->l3_csum;
		ctx->l4_csum_enable = in->l4_csum;
		ctx->l4_csum_partial = in->l4_csum_partial;
		ctx->df = in->df;
	}
	return b;
}

void cref_bench_free(struct cref_bench *b)
{
	if (b) {
		free(b->ctx);
		free(b->bufs);
		free(b);
	}
}

/* iters packets through the Tx queue of dev, as ena_xmit_common sends
 * them: the doorbell first when the LLQ burst has no room for the packet,
 * ena_com_prepare_tx, the doorbell at the end of every burst of `burst`
 * packets (a power of two); the device completes each packet at once.
 * Returns the slots used in all, or a negative errno. */
long long cref_bench_tx(struct cref_bench *b, struct ena_com_dev *dev, u32 iters, u32 burst)
{
	struct ena_com_io_sq *sq = &dev->io_sq_queues[0];
	long long used = 0;
	u32 i;

	for (i = 0; i < iters; i++) {
		struct ena_com_tx_ctx *ctx = &b->ctx[i & (b->n - 1)];
		int rc, nb;

		if (unlikely(ena_com_is_doorbell_needed(sq, ctx)))
			ena_com_write_tx_sq_doorbell(sq);
		rc = ena_com_prepare_tx(sq, ctx, &nb);
		if (unlikely(rc))
			return rc;
		if ((i & (burst - 1)) == burst - 1)
			ena_com_write_tx_sq_doorbell(sq);
		ena_com_comp_ack(sq, nb);
		/* tail - start_tail is an int: negative where the u16 tail
		 * wraps. The kernel keeps it in a u16 too. */
		used += (u16)nb;
	}
	return used;
}

/* iters packets through the Rx queue pair of dev: the device writes the
 * next of the n pre-made completions (n a power of two, at least twice the
 * depth, phases set per lap) into the ring, ena_com_rx_pkt parses it and the buffer goes
 * back with ena_com_add_single_rx_desc. Returns the descriptors received,
 * or a negative errno. */
long long cref_bench_rx(struct ena_com_dev *dev, const u8 *cdescs, u32 n, u32 iters)
{
	struct ena_com_io_cq *cq = &dev->io_cq_queues[0];
	struct ena_com_io_sq *sq = &dev->io_sq_queues[0];
	struct ena_com_rx_buf_info bufs[4];
	struct ena_com_rx_ctx ctx;
	long long got = 0;
	u32 i, size = cq->cdesc_entry_size_in_bytes;

	for (i = 0; i < iters; i++) {
		struct ena_com_buf buf;
		u32 k = i & (n - 1);
		int rc;

		memcpy(cq->cdesc_addr.virt_addr + (size_t)(k & (cq->q_depth - 1)) * size,
		       cdescs + (size_t)k * 16, 16);
		memset(&ctx, 0, sizeof(ctx));
		ctx.ena_bufs = bufs;
		ctx.max_bufs = 4;
		rc = ena_com_rx_pkt(cq, sq, &ctx);
		if (unlikely(rc))
			return rc;
		buf.paddr = 0x300000000ULL + (u64)bufs[0].req_id * 2048;
		buf.len = 2048;
		rc = ena_com_add_single_rx_desc(sq, &buf, bufs[0].req_id);
		if (unlikely(rc))
			return rc;
		got += ctx.descs;
	}
	return got;
}
