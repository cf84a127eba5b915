// ENA Lab: a thin C front for the upstream ena_eth_com.c, so Rust tests can
// drive the original code on the same inputs as our re-implementation.
// One ena_com_dev per queue under test: ena_com finds the device from a
// queue through container_of(io_sq_queues[qid]), so queue 0 lives inside it.
#include <stdlib.h>

#include "cref.h"

/* What ena_com_config_llq_info leaves in ena_com_llq_info. */
struct cref_llq_in {
	u16 header_location_ctrl;
	u16 desc_stride_ctrl;
	u16 desc_list_entry_size_ctrl;
	u16 desc_list_entry_size;
	u16 descs_num_before_header;
	u16 descs_per_entry;
	u16 max_entries_in_tx_burst;
	u8 disable_meta_caching;
};

/* ENA_COM_BOUNCE_BUFFER_CNTRL_CNT of ena_com.c, which this harness does not compile. */
#define CREF_BOUNCE_BUFFERS 4

struct cref_rx_out {
	u16 descs;
	u8 l3_proto, l4_proto;
	u8 l3_csum_err, l4_csum_err, l4_csum_checked, frag;
	u32 hash;
	u8 pkt_offset;
};

struct ena_com_dev *cref_dev_new(void)
{
	struct ena_com_dev *dev = aligned_alloc(64, (sizeof(*dev) + 63) & ~(size_t)63);

	if (dev)
		memset(dev, 0, sizeof(*dev));
	return dev;
}

void cref_dev_free(struct ena_com_dev *dev)
{
	free(dev);
}

void cref_tx_init(struct ena_com_dev *dev, u8 *ring, u16 depth, u8 dma_bits, u32 max_hdr, u8 no_meta_cache)
{
	struct ena_com_io_sq *sq = &dev->io_sq_queues[0];

	sq->qid = 0;
	sq->direction = ENA_COM_IO_QUEUE_DIRECTION_TX;
	sq->mem_queue_type = ENA_ADMIN_PLACEMENT_POLICY_HOST;
	sq->desc_addr.virt_addr = ring;
	sq->desc_entry_size = sizeof(struct ena_eth_io_tx_desc);
	sq->q_depth = depth;
	sq->phase = 1;
	sq->dma_addr_bits = dma_bits;
	sq->tx_max_header_size = max_hdr;
	sq->disable_meta_caching = no_meta_cache;
}

/* ena_com_init_io_sq for device placement: the entries go to dev_mem (what
 * pbuf_dev_addr maps), built in CREF_BOUNCE_BUFFERS bounce buffers of one
 * entry each (zeroed, owned by the caller), the doorbell to *doorbell. */
void cref_tx_llq_init(struct ena_com_dev *dev, u8 *dev_mem, u8 *bounce, u32 *doorbell, u16 depth,
		      u8 dma_bits, u32 max_hdr, const struct cref_llq_in *llq)
{
	struct ena_com_io_sq *sq = &dev->io_sq_queues[0];
	struct ena_com_llq_info *info = &sq->llq_info;

	sq->qid = 0;
	sq->direction = ENA_COM_IO_QUEUE_DIRECTION_TX;
	sq->mem_queue_type = ENA_ADMIN_PLACEMENT_POLICY_DEV;
	sq->desc_addr.pbuf_dev_addr = dev_mem;
	sq->desc_entry_size = sizeof(struct ena_eth_io_tx_desc);
	sq->db_addr = doorbell;
	sq->q_depth = depth;
	sq->dma_addr_bits = dma_bits;
	sq->tx_max_header_size = max_hdr;

	info->header_location_ctrl = llq->header_location_ctrl;
	info->desc_stride_ctrl = llq->desc_stride_ctrl;
	info->desc_list_entry_size_ctrl = llq->desc_list_entry_size_ctrl;
	info->desc_list_entry_size = llq->desc_list_entry_size;
	info->descs_num_before_header = llq->descs_num_before_header;
	info->descs_per_entry = llq->descs_per_entry;
	info->max_entries_in_tx_burst = llq->max_entries_in_tx_burst;
	info->disable_meta_caching = llq->disable_meta_caching;

	sq->bounce_buf_ctrl.buffer_size = info->desc_list_entry_size;
	sq->bounce_buf_ctrl.buffers_num = CREF_BOUNCE_BUFFERS;
	sq->bounce_buf_ctrl.next_to_use = 0;
	sq->bounce_buf_ctrl.base_buffer = bounce;
	sq->llq_buf_ctrl.curr_bounce_buf = ena_com_get_next_bounce_buffer(&sq->bounce_buf_ctrl);
	memset(sq->llq_buf_ctrl.curr_bounce_buf, 0x0, info->desc_list_entry_size);
	sq->llq_buf_ctrl.descs_left_in_line = info->descs_num_before_header;
	sq->disable_meta_caching = info->disable_meta_caching;
	if (info->max_entries_in_tx_burst > 0)
		sq->entries_in_tx_burst_left = info->max_entries_in_tx_burst;

	sq->tail = 0;
	sq->next_to_comp = 0;
	sq->phase = 1;
}

/* The tx context of a packet, its buffers in bufs[16]. */
static void cref_tx_ctx(const struct cref_tx_in *in, struct ena_com_buf *bufs, struct ena_com_tx_ctx *ctx)
{
	int i;

	for (i = 0; i < in->num_bufs && i < 16; i++) {
		bufs[i].paddr = in->paddr[i];
		bufs[i].len = in->len[i];
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->ena_bufs = bufs;
	ctx->num_bufs = in->num_bufs;
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

/* push: the header to push in device placement, or NULL. */
int cref_prepare_tx(struct ena_com_dev *dev, const struct cref_tx_in *in, const u8 *push, int *nb)
{
	struct ena_com_buf bufs[16];
	struct ena_com_tx_ctx ctx;

	cref_tx_ctx(in, bufs, &ctx);
	ctx.push_header = (void *)push;
	*nb = 0;
	return ena_com_prepare_tx(&dev->io_sq_queues[0], &ctx, nb);
}

int cref_doorbell_needed(struct ena_com_dev *dev, const struct cref_tx_in *in)
{
	struct ena_com_buf bufs[16];
	struct ena_com_tx_ctx ctx;

	cref_tx_ctx(in, bufs, &ctx);
	return ena_com_is_doorbell_needed(&dev->io_sq_queues[0], &ctx);
}

void cref_write_doorbell(struct ena_com_dev *dev)
{
	ena_com_write_tx_sq_doorbell(&dev->io_sq_queues[0]);
}

/* The LLQ writer's state: slot in the entry, slots left, burst budget and
 * the entry being built. */
void cref_llq_state(struct ena_com_dev *dev, u16 *idx, u16 *left, u16 *burst_left, const u8 **bounce)
{
	struct ena_com_io_sq *sq = &dev->io_sq_queues[0];

	*idx = sq->llq_buf_ctrl.idx;
	*left = sq->llq_buf_ctrl.descs_left_in_line;
	*burst_left = sq->entries_in_tx_burst_left;
	*bounce = sq->llq_buf_ctrl.curr_bounce_buf;
}

void cref_tx_state(struct ena_com_dev *dev, u16 *tail, u8 *phase, u16 *ntc)
{
	*tail = dev->io_sq_queues[0].tail;
	*phase = dev->io_sq_queues[0].phase;
	*ntc = dev->io_sq_queues[0].next_to_comp;
}

void cref_comp_ack(struct ena_com_dev *dev, u16 n)
{
	ena_com_comp_ack(&dev->io_sq_queues[0], n);
}

void cref_cq_init(struct ena_com_dev *dev, u8 *ring, u16 depth, u8 entry_size, u8 rx)
{
	struct ena_com_io_cq *cq = &dev->io_cq_queues[0];

	cq->qid = 0;
	cq->direction = rx ? ENA_COM_IO_QUEUE_DIRECTION_RX : ENA_COM_IO_QUEUE_DIRECTION_TX;
	cq->cdesc_addr.virt_addr = ring;
	cq->cdesc_entry_size_in_bytes = entry_size;
	cq->q_depth = depth;
	cq->phase = 1;
}

int cref_tx_comp(struct ena_com_dev *dev, u16 *req_id)
{
	u64 ts = 0;

	return ena_com_tx_comp_metadata_get(&dev->io_cq_queues[0], req_id, &ts);
}

void cref_cq_state(struct ena_com_dev *dev, u16 *head, u8 *phase, u16 *cur_count, u16 *cur_start)
{
	struct ena_com_io_cq *cq = &dev->io_cq_queues[0];

	*head = cq->head;
	*phase = cq->phase;
	*cur_count = cq->cur_rx_pkt_cdesc_count;
	*cur_start = cq->cur_rx_pkt_cdesc_start_idx;
}

void cref_rx_sq_init(struct ena_com_dev *dev, u8 *ring, u16 depth, u8 dma_bits)
{
	struct ena_com_io_sq *sq = &dev->io_sq_queues[0];

	sq->qid = 0;
	sq->direction = ENA_COM_IO_QUEUE_DIRECTION_RX;
	sq->mem_queue_type = ENA_ADMIN_PLACEMENT_POLICY_HOST;
	sq->desc_addr.virt_addr = ring;
	sq->desc_entry_size = sizeof(struct ena_eth_io_rx_desc);
	sq->q_depth = depth;
	sq->phase = 1;
	sq->dma_addr_bits = dma_bits;
}

int cref_rx_add(struct ena_com_dev *dev, u64 paddr, u16 len, u16 req_id)
{
	struct ena_com_buf buf = { .paddr = paddr, .len = len };

	return ena_com_add_single_rx_desc(&dev->io_sq_queues[0], &buf, req_id);
}

int cref_rx_pkt(struct ena_com_dev *dev, struct ena_com_rx_buf_info *bufs, u16 max_bufs, struct cref_rx_out *out)
{
	struct ena_com_rx_ctx ctx = { 0 };
	int rc;

	ctx.ena_bufs = bufs;
	ctx.max_bufs = max_bufs;
	rc = ena_com_rx_pkt(&dev->io_cq_queues[0], &dev->io_sq_queues[0], &ctx);
	out->descs = ctx.descs;
	out->l3_proto = ctx.l3_proto;
	out->l4_proto = ctx.l4_proto;
	out->l3_csum_err = ctx.l3_csum_err;
	out->l4_csum_err = ctx.l4_csum_err;
	out->l4_csum_checked = ctx.l4_csum_checked;
	out->frag = ctx.frag;
	out->hash = ctx.hash;
	out->pkt_offset = ctx.pkt_offset;
	return rc;
}

/* Layouts of the wire formats, for the Rust side to check its own against. */
struct cref_field {
	const char *name;
	size_t offset, size;
};

#define F(type, field) { #type "." #field, offsetof(struct type, field), sizeof(((struct type *)0)->field) }
/* The sub-structures admin formats share. */
#define AQ_COMMON(t) F(t, aq_common_descriptor.command_id), F(t, aq_common_descriptor.opcode), \
	F(t, aq_common_descriptor.flags)
#define ACQ_COMMON(t, d) F(t, d.command), F(t, d.status), F(t, d.flags), F(t, d.extended_status), \
	F(t, d.sq_head_indx)
#define ADDR(t, a) F(t, a.mem_addr_low), F(t, a.mem_addr_high), F(t, a.reserved16)
static const struct cref_field fields[] = {
	{ "ena_eth_io_tx_desc", 0, sizeof(struct ena_eth_io_tx_desc) },
	F(ena_eth_io_tx_desc, len_ctrl), F(ena_eth_io_tx_desc, meta_ctrl),
	F(ena_eth_io_tx_desc, buff_addr_lo), F(ena_eth_io_tx_desc, buff_addr_hi_hdr_sz),
	{ "ena_eth_io_tx_meta_desc", 0, sizeof(struct ena_eth_io_tx_meta_desc) },
	F(ena_eth_io_tx_meta_desc, len_ctrl), F(ena_eth_io_tx_meta_desc, word1),
	F(ena_eth_io_tx_meta_desc, word2), F(ena_eth_io_tx_meta_desc, reserved),
	{ "ena_eth_io_tx_cdesc", 0, sizeof(struct ena_eth_io_tx_cdesc) },
	F(ena_eth_io_tx_cdesc, req_id), F(ena_eth_io_tx_cdesc, status),
	F(ena_eth_io_tx_cdesc, flags), F(ena_eth_io_tx_cdesc, sub_qid), F(ena_eth_io_tx_cdesc, sq_head_idx),
	{ "ena_eth_io_rx_desc", 0, sizeof(struct ena_eth_io_rx_desc) },
	F(ena_eth_io_rx_desc, length), F(ena_eth_io_rx_desc, reserved2), F(ena_eth_io_rx_desc, ctrl),
	F(ena_eth_io_rx_desc, req_id), F(ena_eth_io_rx_desc, reserved6), F(ena_eth_io_rx_desc, buff_addr_lo),
	F(ena_eth_io_rx_desc, buff_addr_hi), F(ena_eth_io_rx_desc, reserved16_w3),
	{ "ena_eth_io_rx_cdesc_base", 0, sizeof(struct ena_eth_io_rx_cdesc_base) },
	F(ena_eth_io_rx_cdesc_base, status), F(ena_eth_io_rx_cdesc_base, length),
	F(ena_eth_io_rx_cdesc_base, req_id), F(ena_eth_io_rx_cdesc_base, hash),
	F(ena_eth_io_rx_cdesc_base, sub_qid), F(ena_eth_io_rx_cdesc_base, offset),
	F(ena_eth_io_rx_cdesc_base, reserved),
	/* admin, feature and AENQ formats (ena_admin_defs.h) */
	{ "ena_admin_aq_entry", 0, sizeof(struct ena_admin_aq_entry) },
	AQ_COMMON(ena_admin_aq_entry), F(ena_admin_aq_entry, u.inline_data_w1),
	F(ena_admin_aq_entry, inline_data_w4),
	{ "ena_admin_acq_entry", 0, sizeof(struct ena_admin_acq_entry) },
	ACQ_COMMON(ena_admin_acq_entry, acq_common_descriptor),
	F(ena_admin_acq_entry, response_specific_data),
	{ "ena_admin_aenq_entry", 0, sizeof(struct ena_admin_aenq_entry) },
	F(ena_admin_aenq_entry, aenq_common_desc.group),
	F(ena_admin_aenq_entry, aenq_common_desc.syndrome),
	F(ena_admin_aenq_entry, aenq_common_desc.flags),
	F(ena_admin_aenq_entry, aenq_common_desc.reserved1),
	F(ena_admin_aenq_entry, aenq_common_desc.timestamp_low),
	F(ena_admin_aenq_entry, aenq_common_desc.timestamp_high), F(ena_admin_aenq_entry, inline_data_w4),
	{ "ena_admin_get_feat_cmd", 0, sizeof(struct ena_admin_get_feat_cmd) },
	AQ_COMMON(ena_admin_get_feat_cmd), F(ena_admin_get_feat_cmd, control_buffer.length),
	ADDR(ena_admin_get_feat_cmd, control_buffer.address),
	F(ena_admin_get_feat_cmd, feat_common.flags), F(ena_admin_get_feat_cmd, feat_common.feature_id),
	F(ena_admin_get_feat_cmd, feat_common.feature_version),
	F(ena_admin_get_feat_cmd, feat_common.reserved8), F(ena_admin_get_feat_cmd, raw),
	{ "ena_admin_set_feat_cmd", 0, sizeof(struct ena_admin_set_feat_cmd) },
	F(ena_admin_set_feat_cmd, aq_common_descriptor.command_id),
	F(ena_admin_set_feat_cmd, control_buffer.length),
	F(ena_admin_set_feat_cmd, feat_common.feature_id), F(ena_admin_set_feat_cmd, u.raw),
	{ "ena_admin_device_attr_feature_desc", 0, sizeof(struct ena_admin_device_attr_feature_desc) },
	F(ena_admin_device_attr_feature_desc, impl_id),
	F(ena_admin_device_attr_feature_desc, device_version),
	F(ena_admin_device_attr_feature_desc, supported_features),
	F(ena_admin_device_attr_feature_desc, capabilities),
	F(ena_admin_device_attr_feature_desc, phys_addr_width),
	F(ena_admin_device_attr_feature_desc, virt_addr_width),
	F(ena_admin_device_attr_feature_desc, mac_addr),
	F(ena_admin_device_attr_feature_desc, flow_steering_max_entries),
	F(ena_admin_device_attr_feature_desc, max_mtu),
	{ "ena_admin_queue_feature_desc", 0, sizeof(struct ena_admin_queue_feature_desc) },
	F(ena_admin_queue_feature_desc, max_sq_num), F(ena_admin_queue_feature_desc, max_sq_depth),
	F(ena_admin_queue_feature_desc, max_cq_num), F(ena_admin_queue_feature_desc, max_cq_depth),
	F(ena_admin_queue_feature_desc, max_legacy_llq_num),
	F(ena_admin_queue_feature_desc, max_legacy_llq_depth),
	F(ena_admin_queue_feature_desc, max_header_size),
	F(ena_admin_queue_feature_desc, max_packet_tx_descs),
	F(ena_admin_queue_feature_desc, max_packet_rx_descs),
	{ "ena_admin_feature_llq_desc", 0, sizeof(struct ena_admin_feature_llq_desc) },
	F(ena_admin_feature_llq_desc, max_llq_num), F(ena_admin_feature_llq_desc, max_llq_depth),
	F(ena_admin_feature_llq_desc, header_location_ctrl_supported),
	F(ena_admin_feature_llq_desc, header_location_ctrl_enabled),
	F(ena_admin_feature_llq_desc, entry_size_ctrl_supported),
	F(ena_admin_feature_llq_desc, entry_size_ctrl_enabled),
	F(ena_admin_feature_llq_desc, desc_num_before_header_supported),
	F(ena_admin_feature_llq_desc, desc_num_before_header_enabled),
	F(ena_admin_feature_llq_desc, descriptors_stride_ctrl_supported),
	F(ena_admin_feature_llq_desc, descriptors_stride_ctrl_enabled),
	F(ena_admin_feature_llq_desc, feature_version),
	F(ena_admin_feature_llq_desc, entry_size_recommended),
	F(ena_admin_feature_llq_desc, max_wide_llq_depth),
	F(ena_admin_feature_llq_desc, accel_mode.u.get.supported_flags),
	F(ena_admin_feature_llq_desc, accel_mode.u.get.max_tx_burst_size),
	F(ena_admin_feature_llq_desc, accel_mode.u.set.enabled_flags),
	{ "ena_admin_feature_aenq_desc", 0, sizeof(struct ena_admin_feature_aenq_desc) },
	F(ena_admin_feature_aenq_desc, supported_groups), F(ena_admin_feature_aenq_desc, enabled_groups),
	{ "ena_admin_set_feature_host_attr_desc", 0, sizeof(struct ena_admin_set_feature_host_attr_desc) },
	ADDR(ena_admin_set_feature_host_attr_desc, os_info_ba),
	ADDR(ena_admin_set_feature_host_attr_desc, debug_ba),
	F(ena_admin_set_feature_host_attr_desc, debug_area_size),
	{ "ena_admin_host_info", 0, sizeof(struct ena_admin_host_info) },
	F(ena_admin_host_info, os_type), F(ena_admin_host_info, os_dist_str),
	F(ena_admin_host_info, os_dist), F(ena_admin_host_info, kernel_ver_str),
	F(ena_admin_host_info, kernel_ver), F(ena_admin_host_info, driver_version),
	F(ena_admin_host_info, supported_network_features), F(ena_admin_host_info, ena_spec_version),
	F(ena_admin_host_info, bdf), F(ena_admin_host_info, num_cpus), F(ena_admin_host_info, reserved),
	F(ena_admin_host_info, driver_supported_features),
	{ "ena_admin_aq_create_cq_cmd", 0, sizeof(struct ena_admin_aq_create_cq_cmd) },
	AQ_COMMON(ena_admin_aq_create_cq_cmd), F(ena_admin_aq_create_cq_cmd, cq_caps_1),
	F(ena_admin_aq_create_cq_cmd, cq_caps_2), F(ena_admin_aq_create_cq_cmd, cq_depth),
	F(ena_admin_aq_create_cq_cmd, msix_vector), ADDR(ena_admin_aq_create_cq_cmd, cq_ba),
	{ "ena_admin_acq_create_cq_resp_desc", 0, sizeof(struct ena_admin_acq_create_cq_resp_desc) },
	ACQ_COMMON(ena_admin_acq_create_cq_resp_desc, acq_common_desc),
	F(ena_admin_acq_create_cq_resp_desc, cq_idx),
	F(ena_admin_acq_create_cq_resp_desc, cq_actual_depth),
	F(ena_admin_acq_create_cq_resp_desc, numa_node_register_offset),
	F(ena_admin_acq_create_cq_resp_desc, cq_head_db_register_offset),
	F(ena_admin_acq_create_cq_resp_desc, cq_interrupt_unmask_register_offset),
	{ "ena_admin_aq_create_sq_cmd", 0, sizeof(struct ena_admin_aq_create_sq_cmd) },
	AQ_COMMON(ena_admin_aq_create_sq_cmd), F(ena_admin_aq_create_sq_cmd, sq_identity),
	F(ena_admin_aq_create_sq_cmd, reserved8_w1), F(ena_admin_aq_create_sq_cmd, sq_caps_2),
	F(ena_admin_aq_create_sq_cmd, sq_caps_3), F(ena_admin_aq_create_sq_cmd, cq_idx),
	F(ena_admin_aq_create_sq_cmd, sq_depth), ADDR(ena_admin_aq_create_sq_cmd, sq_ba),
	ADDR(ena_admin_aq_create_sq_cmd, sq_head_writeback), F(ena_admin_aq_create_sq_cmd, reserved0_w7),
	F(ena_admin_aq_create_sq_cmd, reserved0_w8),
	{ "ena_admin_acq_create_sq_resp_desc", 0, sizeof(struct ena_admin_acq_create_sq_resp_desc) },
	ACQ_COMMON(ena_admin_acq_create_sq_resp_desc, acq_common_desc),
	F(ena_admin_acq_create_sq_resp_desc, sq_idx), F(ena_admin_acq_create_sq_resp_desc, reserved),
	F(ena_admin_acq_create_sq_resp_desc, sq_doorbell_offset),
	F(ena_admin_acq_create_sq_resp_desc, llq_descriptors_offset),
	F(ena_admin_acq_create_sq_resp_desc, llq_headers_offset),
	{ "ena_admin_aq_destroy_sq_cmd", 0, sizeof(struct ena_admin_aq_destroy_sq_cmd) },
	AQ_COMMON(ena_admin_aq_destroy_sq_cmd), F(ena_admin_aq_destroy_sq_cmd, sq.sq_idx),
	F(ena_admin_aq_destroy_sq_cmd, sq.sq_identity), F(ena_admin_aq_destroy_sq_cmd, sq.reserved1),
	{ "ena_admin_aq_destroy_cq_cmd", 0, sizeof(struct ena_admin_aq_destroy_cq_cmd) },
	AQ_COMMON(ena_admin_aq_destroy_cq_cmd), F(ena_admin_aq_destroy_cq_cmd, cq_idx),
	F(ena_admin_aq_destroy_cq_cmd, reserved1),
	{ "ena_admin_aq_get_stats_cmd", 0, sizeof(struct ena_admin_aq_get_stats_cmd) },
	AQ_COMMON(ena_admin_aq_get_stats_cmd), F(ena_admin_aq_get_stats_cmd, u.control_buffer.length),
	ADDR(ena_admin_aq_get_stats_cmd, u.control_buffer.address), F(ena_admin_aq_get_stats_cmd, type),
	F(ena_admin_aq_get_stats_cmd, scope), F(ena_admin_aq_get_stats_cmd, reserved3),
	F(ena_admin_aq_get_stats_cmd, queue_idx), F(ena_admin_aq_get_stats_cmd, device_id),
	F(ena_admin_aq_get_stats_cmd, requested_metrics),
	{ "ena_admin_basic_stats", 0, sizeof(struct ena_admin_basic_stats) },
	F(ena_admin_basic_stats, tx_bytes_low), F(ena_admin_basic_stats, tx_bytes_high),
	F(ena_admin_basic_stats, tx_pkts_low), F(ena_admin_basic_stats, tx_pkts_high),
	F(ena_admin_basic_stats, rx_bytes_low), F(ena_admin_basic_stats, rx_bytes_high),
	F(ena_admin_basic_stats, rx_pkts_low), F(ena_admin_basic_stats, rx_pkts_high),
	F(ena_admin_basic_stats, rx_drops_low), F(ena_admin_basic_stats, rx_drops_high),
	F(ena_admin_basic_stats, tx_drops_low), F(ena_admin_basic_stats, tx_drops_high),
	F(ena_admin_basic_stats, rx_overruns_low), F(ena_admin_basic_stats, rx_overruns_high),
	{ "ena_admin_eni_stats", 0, sizeof(struct ena_admin_eni_stats) },
	F(ena_admin_eni_stats, bw_in_allowance_exceeded), F(ena_admin_eni_stats, bw_out_allowance_exceeded),
	F(ena_admin_eni_stats, pps_allowance_exceeded), F(ena_admin_eni_stats, conntrack_allowance_exceeded),
	F(ena_admin_eni_stats, linklocal_allowance_exceeded),
	{ "ena_admin_get_feature_link_desc", 0, sizeof(struct ena_admin_get_feature_link_desc) },
	F(ena_admin_get_feature_link_desc, speed), F(ena_admin_get_feature_link_desc, supported),
	F(ena_admin_get_feature_link_desc, flags),
	{ "ena_admin_set_feature_mtu_desc", 0, sizeof(struct ena_admin_set_feature_mtu_desc) },
	F(ena_admin_set_feature_mtu_desc, mtu),
	{ "ena_admin_feature_rss_ind_table", 0, sizeof(struct ena_admin_feature_rss_ind_table) },
	F(ena_admin_feature_rss_ind_table, min_size), F(ena_admin_feature_rss_ind_table, max_size),
	F(ena_admin_feature_rss_ind_table, size), F(ena_admin_feature_rss_ind_table, flags),
	F(ena_admin_feature_rss_ind_table, reserved), F(ena_admin_feature_rss_ind_table, inline_index),
	F(ena_admin_feature_rss_ind_table, inline_entry.cq_idx),
	F(ena_admin_feature_rss_ind_table, inline_entry.reserved),
	{ "ena_admin_queue_ext_feature_desc", 0, sizeof(struct ena_admin_queue_ext_feature_desc) },
	F(ena_admin_queue_ext_feature_desc, version), F(ena_admin_queue_ext_feature_desc, reserved1),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_tx_sq_num),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_tx_cq_num),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_rx_sq_num),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_rx_cq_num),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_tx_sq_depth),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_tx_cq_depth),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_rx_sq_depth),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_rx_cq_depth),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_tx_header_size),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_per_packet_tx_descs),
	F(ena_admin_queue_ext_feature_desc, max_queue_ext.max_per_packet_rx_descs),
	{ "ena_admin_feature_offload_desc", 0, sizeof(struct ena_admin_feature_offload_desc) },
	F(ena_admin_feature_offload_desc, tx), F(ena_admin_feature_offload_desc, rx_supported),
	F(ena_admin_feature_offload_desc, rx_enabled),
	{ "ena_admin_feature_intr_moder_desc", 0, sizeof(struct ena_admin_feature_intr_moder_desc) },
	F(ena_admin_feature_intr_moder_desc, intr_delay_resolution),
	F(ena_admin_feature_intr_moder_desc, reserved),
	{ "ena_admin_ena_hw_hints", 0, sizeof(struct ena_admin_ena_hw_hints) },
	F(ena_admin_ena_hw_hints, mmio_read_timeout), F(ena_admin_ena_hw_hints, driver_watchdog_timeout),
	F(ena_admin_ena_hw_hints, missing_tx_completion_timeout),
	F(ena_admin_ena_hw_hints, missed_tx_completion_count_threshold_to_reset),
	F(ena_admin_ena_hw_hints, admin_completion_tx_timeout), F(ena_admin_ena_hw_hints, netdev_wd_timeout),
	F(ena_admin_ena_hw_hints, max_tx_sgl_size), F(ena_admin_ena_hw_hints, max_rx_sgl_size),
	F(ena_admin_ena_hw_hints, reserved),
	{ "ena_admin_customer_metrics", 0, sizeof(struct ena_admin_customer_metrics) },
	F(ena_admin_customer_metrics, reported_metrics),
};

size_t cref_fields(const struct cref_field **out)
{
	*out = fields;
	return sizeof(fields) / sizeof(fields[0]);
}
