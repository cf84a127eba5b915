//! ena-trace: watch an ENA come up. Runs ena-core's bring-up against the
//! software device and prints what crosses the hardware boundary: register
//! accesses and LLQ entry writes by name (with --trace), admin commands with
//! their decoded answers (the LLQ offer and the layout chosen among them),
//! then a short send/receive exchange over the loopback.
//!
//!   cargo run -p ena-trace -- [--trace] [--host] [--frames N]
//!   cargo run -p ena-trace -- tour TRACE [--html FILE] [--source DIR]
//!
//! --host keeps the Tx queue in host memory (no LLQ). `tour` tells a device
//! trace (QEMU's ena trace=FILE) in chapters, naming where in the driver
//! source under DIR each function is (see `tour`).

#![forbid(unsafe_code)]

mod tour;

use std::cell::Cell;
use std::rc::Rc;

use ena_core::device::{aenq_group, DmaAllocator, Ena};
use ena_core::devmem::DeviceMemory;
use ena_core::dma::DmaMemory;
use ena_core::llq_config::LlqPolicy;
use ena_core::regs::Registers;
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_model::trace::decode;
use ena_model::{Bus, BusAlloc, Model, ModelConfig, VirtualClock};

/// Registers that print every access when tracing.
struct Traced {
    model: Model,
    on: bool,
}

impl Registers for Traced {
    fn read32(&mut self, off: u32) -> u32 {
        let v = self.model.read32(off);
        if self.on {
            println!(
                "  read  {:<20} = {v:#010x}{}",
                decode::reg_name(off),
                decode::reg_fields(off, v)
            );
        }
        v
    }
    fn write32(&mut self, off: u32, v: u32) {
        if self.on {
            println!(
                "  write {:<20} = {v:#010x}{}",
                decode::reg_name(off),
                decode::reg_fields(off, v)
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
                decode::llq_entry(entry, self.before.get())
            );
        }
        self.bus.device_write(off as u64, entry);
    }
}

/// `tour TRACE [--html FILE] [--source DIR]`: the chapters on stdout.
fn run_tour(args: &[String]) -> Result<(), String> {
    let mut it = args.iter();
    let trace = it.next().ok_or("tour needs a trace file")?;
    let (mut html, mut source) = (None, None);
    while let Some(a) = it.next() {
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--html" => html = Some(v.clone()),
            "--source" => source = Some(std::path::PathBuf::from(v)),
            _ => {
                return Err(format!(
                    "unknown tour argument '{a}' (use --html FILE, --source DIR)"
                ))
            }
        }
    }
    let text = std::fs::read_to_string(trace).map_err(|e| format!("{trace}: {e}"))?;
    let lines: Vec<tour::Line> = text.lines().filter_map(tour::Line::parse).collect();
    if lines.is_empty() {
        return Err(format!("{trace} has no trace lines"));
    }
    if let Some(dir) = &source {
        if !dir.is_dir() {
            return Err(format!("--source {}: not a directory", dir.display()));
        }
    }
    print!("{}", tour::text(&lines, source.as_deref()));
    if let Some(f) = html {
        std::fs::write(&f, tour::html(&lines, source.as_deref()))
            .map_err(|e| format!("{f}: {e}"))?;
        println!("\n(the whole timeline: {f})");
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("tour") {
        if let Err(e) = run_tour(&args[1..]) {
            eprintln!("ena-trace: {e}");
            std::process::exit(2);
        }
        return;
    }
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
        println!(
            "  {:<28} -> {}",
            decode::op_name(*op, *feat),
            decode::status_name(*status)
        );
        if trace {
            println!("      command:    {}", decode::command(cmd));
            if let Some(r) = resp {
                println!("      completion: {}", decode::completion(cmd, r));
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
