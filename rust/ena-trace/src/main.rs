//! ena-trace: watch an ENA come up. Runs ena-core's bring-up against the
//! software device and prints what crosses the hardware boundary: register
//! accesses and LLQ entry writes by name (with --trace), admin commands with
//! their decoded answers (the LLQ offer and the layout chosen among them),
//! then a short send/receive exchange over the loopback.
//!
//!   cargo run -p ena-trace -- [--trace] [--host] [--frames N]
//!
//! --host keeps the Tx queue in host memory (no LLQ).

#![forbid(unsafe_code)]

use std::cell::Cell;
use std::rc::Rc;

use ena_core::admin::{feature, opcode, ENTRY_SIZE};
use ena_core::admin_defs::{
    create_cq, create_sq, join_addr, llq, AcqEntry, CreateCqCmd, CreateCqResp, CreateSqCmd,
    CreateSqResp, DestroyCqCmd, DestroySqCmd, DeviceAttrFeatureDesc, FeatCmd, FeatureAenqDesc,
    FeatureLlqDesc, QueueFeatureDesc,
};
use ena_core::device::{aenq_group, DmaAllocator, Ena};
use ena_core::devmem::DeviceMemory;
use ena_core::dma::DmaMemory;
use ena_core::llq_config::LlqPolicy;
use ena_core::regs::{self, Registers};
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_core::wire::Wire;
use ena_model::{
    Bus, BusAlloc, Model, ModelConfig, VirtualClock, CQ_UNMASK_BASE, SQ_DOORBELL_BASE,
};

/// Registers that print every access when tracing.
struct Traced {
    model: Model,
    on: bool,
}

fn reg_name(off: u32) -> String {
    let n = match off {
        regs::VERSION => "VERSION",
        regs::CONTROLLER_VERSION => "CONTROLLER_VERSION",
        regs::CAPS => "CAPS",
        regs::AQ_BASE_LO => "AQ_BASE_LO",
        regs::AQ_BASE_HI => "AQ_BASE_HI",
        regs::AQ_CAPS => "AQ_CAPS",
        regs::ACQ_BASE_LO => "ACQ_BASE_LO",
        regs::ACQ_BASE_HI => "ACQ_BASE_HI",
        regs::ACQ_CAPS => "ACQ_CAPS",
        regs::AQ_DB => "AQ_DB",
        regs::AENQ_CAPS => "AENQ_CAPS",
        regs::AENQ_BASE_LO => "AENQ_BASE_LO",
        regs::AENQ_BASE_HI => "AENQ_BASE_HI",
        regs::AENQ_HEAD_DB => "AENQ_HEAD_DB",
        regs::DEV_CTL => "DEV_CTL",
        regs::DEV_STS => "DEV_STS",
        o if (SQ_DOORBELL_BASE..CQ_UNMASK_BASE).contains(&o) => {
            return format!("SQ{}_DOORBELL", (o - SQ_DOORBELL_BASE) / 4)
        }
        o if (CQ_UNMASK_BASE..CQ_UNMASK_BASE + 0x1000).contains(&o) => {
            return format!("CQ{}_UNMASK", (o - CQ_UNMASK_BASE) / 4)
        }
        o => return format!("{o:#06x}"),
    };
    n.to_string()
}

fn decode(off: u32, v: u32) -> String {
    match off {
        regs::CAPS => format!(
            " (reset timeout {} ms, DMA width {}, admin timeout {} ms)",
            ((v >> 1) & 0x1f) * 100,
            (v >> 8) & 0xff,
            ((v >> 16) & 0xf) * 100
        ),
        regs::DEV_STS => format!(" (ready {}, reset in progress {})", v & 1, (v >> 3) & 1),
        regs::DEV_CTL => format!(" (reset {}, reason {})", v & 1, v >> 28),
        regs::AQ_CAPS | regs::ACQ_CAPS | regs::AENQ_CAPS => {
            format!(" (depth {}, entry {} bytes)", v & 0xffff, v >> 16)
        }
        regs::CONTROLLER_VERSION => {
            format!(" ({}.{}.{})", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
        }
        _ => String::new(),
    }
}

impl Registers for Traced {
    fn read32(&mut self, off: u32) -> u32 {
        let v = self.model.read32(off);
        if self.on {
            println!(
                "  read  {:<20} = {v:#010x}{}",
                reg_name(off),
                decode(off, v)
            );
        }
        v
    }
    fn write32(&mut self, off: u32, v: u32) {
        if self.on {
            println!(
                "  write {:<20} = {v:#010x}{}",
                reg_name(off),
                decode(off, v)
            );
        }
        self.model.write32(off, v);
    }
}

/// The device's memory (BAR2), printing every LLQ entry written when
/// tracing; `before` is the layout's descriptor slots ahead of the header,
/// known once bring-up chose it.
#[derive(Clone)]
struct Bar2 {
    bus: Bus,
    on: bool,
    before: Rc<Cell<usize>>,
}

impl DeviceMemory for Bar2 {
    fn write(&mut self, off: usize, entry: &[u8]) {
        if self.on {
            println!(
                "  write {:<20} = {}-byte LLQ entry{}",
                format!("BAR2+{off:#07x}"),
                entry.len(),
                decode_entry(entry, self.before.get())
            );
        }
        self.bus.device_write(off as u64, entry);
    }
}

/// An entry's descriptors: a packet's first entry has `before` slots and
/// then the header (its length in the first data descriptor), a further
/// one only descriptors.
fn decode_entry(e: &[u8], before: usize) -> String {
    let word = |slot: usize, w: usize| {
        let b = &e[slot * 16 + w * 4..slot * 16 + w * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let first_entry = word(0, 0) & 1 << 26 != 0;
    let slots = if first_entry { before } else { e.len() / 16 };
    let mut out = Vec::new();
    let mut header = None;
    for slot in 0..slots {
        let ctrl = word(slot, 0);
        if ctrl == 0 {
            break;
        }
        let meta = ctrl & 1 << 23 != 0;
        let mut f = vec![if meta { "meta" } else { "data" }];
        for (bit, name) in [(26, "first"), (27, "last"), (28, "comp_req")] {
            if ctrl & 1 << bit != 0 {
                f.push(name);
            }
        }
        if !meta && header.is_none() {
            header = Some(word(slot, 3) >> 24);
        }
        out.push(format!("{} phase {}", f.join("+"), (ctrl >> 24) & 1));
    }
    match header.filter(|_| first_entry) {
        Some(h) => format!(" ({}; header {h} bytes inline)", out.join(", ")),
        None => format!(" ({})", out.join(", ")),
    }
}

fn entry_size(code: u16) -> String {
    match llq::entry_bytes(code) {
        Some(b) => format!("{b} B"),
        None => format!("{code:#x}"),
    }
}

/// The LLQ descriptor fields a GET answers with.
fn decode_llq_offer(d: &FeatureLlqDesc) -> String {
    format!(
        "max_llq_num {}, max_llq_depth {}, header_location_ctrl_supported {:#x}, \
         entry_size_ctrl_supported {:#x}, entry_size_recommended {} ({}), \
         desc_num_before_header_supported {:#x}, descriptors_stride_ctrl_supported {:#x}, \
         max_wide_llq_depth {}, accel_mode supported_flags {:#x}, max_tx_burst_size {}",
        d.max_llq_num,
        d.max_llq_depth,
        d.header_location_ctrl_supported,
        d.entry_size_ctrl_supported,
        d.entry_size_recommended,
        entry_size(d.entry_size_recommended as u16),
        d.desc_num_before_header_supported,
        d.descriptors_stride_ctrl_supported,
        d.max_wide_llq_depth,
        d.accel_mode_flags,
        d.accel_mode_max_tx_burst_size
    )
}

/// The layout a SET chooses.
fn decode_llq_choice(d: &FeatureLlqDesc) -> String {
    let header = match d.header_location_ctrl_enabled {
        llq::INLINE_HEADER => "inline",
        llq::HEADER_RING => "header ring",
        _ => "?",
    };
    let stride = match d.descriptors_stride_ctrl_enabled {
        llq::SINGLE_DESC_PER_ENTRY => "single",
        llq::MULTIPLE_DESCS_PER_ENTRY => "multiple",
        _ => "?",
    };
    format!(
        "header_location_ctrl_enabled {} ({header}), entry_size_ctrl_enabled {} ({}), \
         desc_num_before_header_enabled {}, descriptors_stride_ctrl_enabled {} ({stride}), \
         accel_mode enabled_flags {:#x}",
        d.header_location_ctrl_enabled,
        d.entry_size_ctrl_enabled,
        entry_size(d.entry_size_ctrl_enabled),
        d.desc_num_before_header_enabled,
        d.descriptors_stride_ctrl_enabled,
        d.accel_mode_flags
    )
}

fn op_name(op: u8, feat: u8) -> String {
    let f = match feat {
        feature::DEVICE_ATTRIBUTES => "DEVICE_ATTRIBUTES",
        feature::AENQ_CONFIG => "AENQ_CONFIG",
        feature::HOST_ATTR_CONFIG => "HOST_ATTR_CONFIG",
        feature::LLQ => "LLQ",
        feature::MAX_QUEUES_NUM => "MAX_QUEUES_NUM",
        feature::STATELESS_OFFLOAD_CONFIG => "STATELESS_OFFLOAD_CONFIG",
        feature::RSS_INDIRECTION_TABLE_CONFIG => "RSS_INDIRECTION_TABLE_CONFIG",
        feature::MTU => "MTU",
        feature::LINK_CONFIG => "LINK_CONFIG",
        _ => "",
    };
    match op {
        opcode::GET_FEATURE => format!("GET_FEATURE {f}"),
        opcode::SET_FEATURE => format!("SET_FEATURE {f}"),
        opcode::CREATE_CQ => "CREATE_CQ".into(),
        opcode::CREATE_SQ => "CREATE_SQ".into(),
        opcode::DESTROY_CQ => "DESTROY_CQ".into(),
        opcode::DESTROY_SQ => "DESTROY_SQ".into(),
        o => format!("opcode {o}"),
    }
}

/// The fields of an admin command, decoded with ena-core's typed formats.
fn decode_command(e: &[u8; ENTRY_SIZE]) -> String {
    let common = format!(
        "id {}, phase {}",
        u16::from_le_bytes([e[0], e[1]]) & 0xfff,
        e[3] & 1
    );
    let rest = match e[2] {
        opcode::GET_FEATURE => format!("feature_id {}", FeatCmd::decode(e).feature_id),
        opcode::SET_FEATURE => {
            let c = FeatCmd::decode(e);
            match c.feature_id {
                feature::HOST_ATTR_CONFIG => format!(
                    "host info page at {:#x}",
                    join_addr(c.raw[0], c.raw[1] as u16)
                ),
                feature::AENQ_CONFIG => format!("enabled_groups {:#x}", c.raw[1]),
                feature::LLQ => decode_llq_choice(&FeatureLlqDesc::decode(&e[20..])),
                f => format!("feature_id {f}"),
            }
        }
        opcode::CREATE_CQ => {
            let c = CreateCqCmd::decode(e);
            format!(
                "cq_entry_size_words {}, cq_depth {}, cq_ba {:#x}",
                c.cq_caps_2 & create_cq::CQ_ENTRY_SIZE_WORDS_MASK,
                c.cq_depth,
                join_addr(c.cq_ba_lo, c.cq_ba_hi)
            )
        }
        opcode::CREATE_SQ => {
            let c = CreateSqCmd::decode(e);
            let dir = match c.sq_identity >> create_sq::SQ_DIRECTION_SHIFT {
                create_sq::DIRECTION_TX => "tx",
                create_sq::DIRECTION_RX => "rx",
                _ => "?",
            };
            format!(
                "sq_direction {dir}, placement_policy {}, cq_idx {}, sq_depth {}, sq_ba {:#x}",
                c.sq_caps_2 & create_sq::PLACEMENT_POLICY_MASK,
                c.cq_idx,
                c.sq_depth,
                join_addr(c.sq_ba_lo, c.sq_ba_hi)
            )
        }
        opcode::DESTROY_SQ => format!("sq_idx {}", DestroySqCmd::decode(e).sq_idx),
        opcode::DESTROY_CQ => format!("cq_idx {}", DestroyCqCmd::decode(e).cq_idx),
        _ => String::new(),
    };
    format!("{common}, {rest}")
}

/// The fields of a completion, read as the command's response type.
fn decode_completion(cmd: &[u8; ENTRY_SIZE], r: &[u8; ENTRY_SIZE]) -> String {
    let c = AcqEntry::decode(r);
    let common = format!(
        "id {}, status {}, phase {}",
        c.command & 0xfff,
        status_name(c.status),
        c.flags & 1
    );
    let body = &r[8..];
    let rest = match (cmd[2], FeatCmd::decode(cmd).feature_id) {
        _ if c.status != 0 => String::new(),
        (opcode::GET_FEATURE, feature::DEVICE_ATTRIBUTES) => {
            let d = DeviceAttrFeatureDesc::decode(body);
            format!(
                "mac_addr {:02x?}, max_mtu {}, phys_addr_width {}",
                d.mac_addr, d.max_mtu, d.phys_addr_width
            )
        }
        (opcode::GET_FEATURE, feature::MAX_QUEUES_NUM) => {
            let d = QueueFeatureDesc::decode(body);
            format!(
                "max_sq_num {}, max_sq_depth {}, max_cq_depth {}, max_packet_tx_descs {}",
                d.max_sq_num, d.max_sq_depth, d.max_cq_depth, d.max_packet_tx_descs
            )
        }
        (opcode::GET_FEATURE, feature::LLQ) => decode_llq_offer(&FeatureLlqDesc::decode(body)),
        (opcode::GET_FEATURE, feature::AENQ_CONFIG) => {
            let d = FeatureAenqDesc::decode(body);
            format!(
                "supported_groups {:#x}, enabled_groups {:#x}",
                d.supported_groups, d.enabled_groups
            )
        }
        (opcode::CREATE_CQ, _) => {
            let d = CreateCqResp::decode(r);
            format!(
                "cq_idx {}, cq_actual_depth {}, cq_interrupt_unmask_register_offset {:#x}",
                d.cq_idx, d.cq_actual_depth, d.cq_interrupt_unmask_register_offset
            )
        }
        (opcode::CREATE_SQ, _) => {
            let d = CreateSqResp::decode(r);
            format!(
                "sq_idx {}, sq_doorbell_offset {:#x}, llq_descriptors_offset {:#x}",
                d.sq_idx, d.sq_doorbell_offset, d.llq_descriptors_offset
            )
        }
        _ => String::new(),
    };
    if rest.is_empty() {
        common
    } else {
        format!("{common}, {rest}")
    }
}

fn status_name(s: u8) -> &'static str {
    [
        "SUCCESS",
        "RESOURCE_ALLOCATION_FAILURE",
        "BAD_OPCODE",
        "UNSUPPORTED_OPCODE",
        "MALFORMED_REQUEST",
        "ILLEGAL_PARAMETER",
        "UNKNOWN_ERROR",
        "RESOURCE_BUSY",
    ]
    .get(s as usize)
    .copied()
    .unwrap_or("?")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut trace = false;
    let mut host = false;
    let mut frames = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--trace" => trace = true,
            "--host" => host = true,
            "--frames" => {
                frames = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                    eprintln!("ena-trace: --frames needs a number");
                    std::process::exit(2)
                })
            }
            other => {
                eprintln!(
                    "ena-trace: unknown argument '{other}' (use --trace, --host, --frames N)"
                );
                std::process::exit(2);
            }
        }
    }

    let bus = Bus::new(4 << 20, 0x1_0000_0000);
    let model = Model::new(&bus, ModelConfig::default());
    let before = Rc::new(Cell::new(0));
    let mut ena = Ena::with_device_memory(
        Traced { model, on: trace },
        BusAlloc::new(&bus),
        VirtualClock::default(),
        Bar2 {
            bus: bus.clone(),
            on: trace,
            before: before.clone(),
        },
    );
    if host {
        ena.set_llq_policy(LlqPolicy::Off);
    }
    println!("== bring-up");
    let (info, mut pair) = match ena.bring_up(16, aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE)
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("ena-trace: bring-up failed: {e:?}");
            std::process::exit(1);
        }
    };
    println!("== admin commands");
    for ((op, feat, status), (cmd, resp)) in ena
        .regs
        .model
        .admin_log
        .iter()
        .zip(&ena.regs.model.admin_trace)
    {
        println!("  {:<28} -> {}", op_name(*op, *feat), status_name(*status));
        if trace {
            println!("      command:    {}", decode_command(cmd));
            if let Some(r) = resp {
                println!("      completion: {}", decode_completion(cmd, r));
            }
        }
    }
    println!(
        "== device: MAC {}, max MTU {}, DMA width {}, AENQ groups {:#x}",
        info.mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        info.max_mtu,
        info.dma_width,
        info.aenq_groups
    );
    println!(
        "   Tx queue: SQ {} (doorbell {:#x}) -> CQ {}; Rx queue: SQ {} (doorbell {:#x}) -> CQ {}",
        pair.tx_sq_idx,
        pair.tx_doorbell,
        pair.tx_cq_idx,
        pair.rx_sq_idx,
        pair.rx_doorbell,
        pair.rx_cq_idx
    );

    before.set(ena.llq().map_or(0, |l| l.descs_num_before_header as usize));
    match ena.llq() {
        Some(l) => println!(
            "   Tx placement: device (LLQ), {}-byte entries: the header inline after {} \
             descriptor(s) (up to {} bytes), {} descriptor(s) per further entry, \
             a doorbell at least every {} entries{}",
            l.desc_list_entry_size,
            l.descs_num_before_header,
            l.max_header(),
            l.descs_per_entry,
            l.max_entries_in_tx_burst,
            if l.disable_meta_caching {
                ", a meta descriptor with every packet"
            } else {
                ""
            }
        ),
        None => println!("   Tx placement: host memory"),
    }

    println!("== send and receive {frames} frame(s) over the loopback");
    let mut mem = ena.alloc.alloc(64 * 2048);
    for id in 0..15u16 {
        pair.rx
            .add(mem.phys() + (32 + id as u64) * 2048, 2048, id)
            .unwrap();
    }
    let (db, tail) = (pair.rx_doorbell, pair.rx.tail());
    ena.doorbell(db, tail);
    for n in 0..frames {
        let frame: Vec<u8> = format!("frame {n} from ena-core through the model").into_bytes();
        let id = (n % 15) as u16;
        // LLQ: the first bytes, up to the entry's room, pushed inline (as
        // the Linux driver does); host: all of it in the buffer.
        let pushed = pair
            .tx
            .llq_ring()
            .map_or(0, |l| (l.info().max_header() as usize).min(frame.len()));
        mem.write(id as usize * 2048, &frame[pushed..]);
        let buf = [TxBuf {
            paddr: mem.phys() + id as u64 * 2048,
            len: (frame.len() - pushed) as u16,
        }];
        let ctx = TxCtx {
            bufs: if pushed < frame.len() { &buf } else { &[] },
            push_header: Some(&frame[..pushed]),
            header_len: pushed as u16,
            req_id: id,
            ..Default::default()
        };
        if pair.tx.doorbell_needed(&ctx) {
            pair.tx.write_doorbell(&mut ena.regs);
        }
        let used = pair.tx.prepare(&ctx).unwrap();
        pair.tx.write_doorbell(&mut ena.regs);
        let done = pair.tx_done.next_completed().expect("Tx completion");
        pair.tx.ack(used);
        let mut rb = [RxBuf::default(); 2];
        let pkt = pair
            .rx_done
            .receive(&mut pair.rx, &mut rb)
            .expect("Rx completion");
        let mut got = vec![0u8; rb[0].len as usize];
        mem.read((32 + rb[0].req_id as usize) * 2048, &mut got);
        let slots = if pushed > 0 { "entry" } else { "desc" };
        println!(
            "  tx req_id {done} ({used} {slots}) -> rx req_id {} ({} desc, {} bytes): {:?}",
            rb[0].req_id,
            pkt.descs,
            got.len(),
            String::from_utf8_lossy(&got)
        );
        assert_eq!(got, frame, "frame {n} changed on the way");
        pair.rx
            .add(
                mem.phys() + (32 + rb[0].req_id as u64) * 2048,
                2048,
                rb[0].req_id,
            )
            .unwrap();
        let (db, tail) = (pair.rx_doorbell, pair.rx.tail());
        ena.doorbell(db, tail);
    }
    println!(
        "== ok: {} admin commands, {} sent, {} received",
        ena.regs.model.stats.admin_commands,
        ena.regs.model.stats.tx_pkts,
        ena.regs.model.stats.rx_pkts
    );
}
