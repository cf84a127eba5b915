/* ENA Lab: what glue.c and bench.c share with the Rust side (src/lib.rs
 * mirrors it with #[repr(C)]). */
#ifndef ENA_LAB_CREF_H
#define ENA_LAB_CREF_H

#include "ena_eth_com.h"

/* One packet, flattened: up to 16 buffers and the tx context's fields. */
struct cref_tx_in {
	u64 paddr[16];
	u16 len[16];
	u16 num_bufs;
	u16 req_id;
	u16 header_len;
	u16 mss, l3_hdr_len, l3_hdr_offset, l4_hdr_len;
	u8 l3_proto, l4_proto;
	u8 meta_valid, tso, l3_csum, l4_csum, l4_csum_partial, df;
};

#endif /* ENA_LAB_CREF_H */
