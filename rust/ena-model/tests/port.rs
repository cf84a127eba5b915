//! What a driver of a whole port needs of ena-core beyond one queue pair,
//! against the software ENA: more pairs with the RSS indirection table
//! spreading flows over their Rx queues, the MTU, and register reads the
//! read-less way behind the same `Registers` bring-up uses (as EC2's
//! devices, PCI revision 0, ask).

use ena_core::admin::{feature, opcode, AdminError, CTRL_DATA_INDIRECT_MASK};
use ena_core::device::{aenq_group, BringUpError, DmaAllocator, Ena, IoPair};
use ena_core::dma::DmaMemory;
use ena_core::mmio::{ReadLessError, ReadLessRegs, READ_TIMEOUT_VALUE};
use ena_core::rx::RxBuf;
use ena_core::tx::{TxBuf, TxCtx};
use ena_model::rss::{flow_input, toeplitz, DEFAULT_KEY};
use ena_model::{Bus, BusAlloc, BusMem, Lifetime, Model, ModelConfig, VirtualClock};

const DEPTH: u16 = 64;
const GROUPS: u32 = aenq_group::LINK_CHANGE | aenq_group::KEEP_ALIVE;

type Driver = Ena<Model, BusAlloc, VirtualClock>;

fn device() -> (Driver, Bus) {
    let bus = Bus::new(16 << 20, 0x1_2340_0000);
    let d = Ena::new(
        Model::new(&bus, ModelConfig::default()),
        BusAlloc::new(&bus),
        VirtualClock::default(),
    );
    (d, bus)
}

/// An IPv4/UDP frame of flow `n`: source port 1000 + n.
fn udp_frame(n: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 18];
    f[..6].copy_from_slice(&[0x02, 0xe1, 0xab, 0, 0, 1]);
    f[6..12].copy_from_slice(&[0x02, 0xe1, 0xab, 0, 0, 2]);
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[198, 51, 100, 20]);
    ip[16..20].copy_from_slice(&[198, 51, 100, 10]);
    f[34..36].copy_from_slice(&(1000 + n).to_be_bytes());
    f[36..38].copy_from_slice(&5201u16.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f
}

/// Rx buffers of 2 KiB for every pair, posted once.
fn post_rx(d: &mut Driver, pairs: &mut [IoPair<BusMem>], mem: &BusMem) {
    for (q, p) in pairs.iter_mut().enumerate() {
        for id in 0..DEPTH - 1 {
            let addr = mem.phys() + ((q * DEPTH as usize + id as usize) * 2048) as u64;
            p.rx.add(addr, 2048, id).unwrap();
        }
        let (db, tail) = (p.rx_doorbell, p.rx.tail());
        d.doorbell(db, tail);
    }
}

#[test]
fn four_pairs_with_the_rss_table_spread_sixteen_flows_over_every_rx_queue() {
    let (mut d, _bus) = device();
    let (info, first) = d.bring_up(DEPTH, GROUPS).unwrap();
    assert!(
        info.max_sq_num >= 4,
        "the device offers {}",
        info.max_sq_num
    );
    let mut pairs = vec![first];
    for _ in 1..4 {
        pairs.push(d.create_pair(DEPTH).unwrap());
    }
    let rx_sqs: Vec<u16> = pairs.iter().map(|p| p.rx_sq_idx).collect();
    assert_eq!(d.set_rss_table(&rx_sqs), Ok(128));

    // The command asked for the device's range first, then set the table
    // from a control buffer, flagged as indirect data.
    let log = &d.regs.admin_log;
    let n = log.len();
    assert_eq!(
        (log[n - 2].0, log[n - 2].1),
        (opcode::GET_FEATURE, feature::RSS_INDIRECTION_TABLE_CONFIG)
    );
    assert_eq!(
        log[n - 1],
        (
            opcode::SET_FEATURE,
            feature::RSS_INDIRECTION_TABLE_CONFIG,
            0
        )
    );
    let (set, _) = d.regs.admin_trace.last().unwrap();
    assert_eq!(set[3] & CTRL_DATA_INDIRECT_MASK, CTRL_DATA_INDIRECT_MASK);

    // Sixteen flows from the wire land where the table and their hash say,
    // and over all four queues.
    let mem = d.alloc.alloc(4 * DEPTH as usize * 2048);
    post_rx(&mut d, &mut pairs, &mem);
    let mut per_queue = [0usize; 4];
    for flow in 0..16 {
        let f = udp_frame(flow);
        assert!(d.regs.receive(&f), "the device takes flow {flow}");
        let hash = toeplitz(&DEFAULT_KEY, &flow_input(&f).unwrap());
        let want = (hash & 127) as usize % 4;
        let mut bufs = [RxBuf::default(); 4];
        let got: Vec<usize> = (0..4)
            .filter(|&q| {
                let p = &mut pairs[q];
                p.rx_done.receive(&mut p.rx, &mut bufs).unwrap().descs == 1
            })
            .collect();
        assert_eq!(got, vec![want], "flow {flow} (hash {hash:#x})");
        per_queue[want] += 1;
    }
    assert!(
        per_queue.iter().all(|&n| n > 0),
        "sixteen flows, four queues: {per_queue:?}"
    );
    let v = d.regs.violations();
    assert_eq!(v.total(), 0, "ena-core kept the protocol: {:?}", v.report());
}

#[test]
fn the_mtu_bounds_the_frames_sent_and_a_larger_one_is_refused() {
    let (mut d, _bus) = device();
    let (info, mut p) = d.bring_up(DEPTH, GROUPS).unwrap();
    assert_eq!(info.max_mtu, 9216);
    assert_eq!(
        d.set_mtu(9217),
        Err(BringUpError::Admin {
            step: "set MTU",
            error: AdminError::IllegalParameter
        })
    );
    d.set_mtu(1500).unwrap();
    // 1518 bytes (the MTU, an Ethernet header and a VLAN tag) leave; 1519
    // are over the MTU the driver set and the device drops them (it
    // completes the request all the same).
    let mut mem = d.alloc.alloc(4096);
    let mut sent = Vec::new();
    for (id, len) in [(0u16, 1518usize), (1, 1519)] {
        mem.write(0, &vec![0xab; len]);
        let bufs = [TxBuf {
            paddr: mem.phys(),
            len: len as u16,
        }];
        p.tx.prepare(&TxCtx {
            bufs: &bufs,
            req_id: id,
            ..Default::default()
        })
        .unwrap();
        p.tx.write_doorbell(&mut d.regs);
        sent.push(d.regs.stats.tx_pkts);
        assert_eq!(p.tx_done.next_completed(), Ok(id));
    }
    assert_eq!(sent, vec![1, 1], "the 1519-byte frame was not sent");
    assert_eq!(d.regs.stats.tx_drops, 1);
}

type ReadLessDriver = Ena<ReadLessRegs<Model, BusMem, VirtualClock>, BusAlloc, VirtualClock>;

fn read_less_device() -> ReadLessDriver {
    let bus = Bus::new(8 << 20, 0x1_2340_0000);
    let mut alloc = BusAlloc::new(&bus);
    let resp = alloc.alloc(8);
    let clock = VirtualClock::default();
    let regs = ReadLessRegs::new(
        Model::new(&bus, ModelConfig::default()),
        resp,
        clock.clone(),
        200_000,
    );
    Ena::new(regs, alloc, clock)
}

#[test]
fn bring_up_reads_every_register_the_read_less_way_across_resets() {
    let mut d = read_less_device();
    let (info, _) = d.bring_up(DEPTH, GROUPS).expect("bring-up, read-less");
    assert_eq!(info.dma_width, 48);
    let first = d.regs.inner().stats.readless_reads;
    assert!(
        first >= 4,
        "DEV_STS, CAPS and the version were read: {first}"
    );
    // The reset made the device forget where answers go; the adapter wrote
    // it again after the reset bit, so a second bring-up reads as well.
    d.bring_up(DEPTH, GROUPS).expect("bring-up after a reset");
    assert!(d.regs.inner().stats.readless_reads >= 2 * first);
    assert_eq!(d.regs.inner().stats.resets, 2);
    assert_eq!((d.regs.failures(), d.regs.last_error()), (0, None));
}

#[test]
fn an_unanswered_read_less_read_fails_bring_up_and_says_which_register() {
    use ena_core::regs::{self, Registers};
    let mut d = read_less_device();
    d.regs
        .inner_mut()
        .faults
        .no_readless_answer
        .arm(Lifetime::UntilCleared);
    assert_eq!(d.regs.read32(regs::VERSION), READ_TIMEOUT_VALUE);
    assert!(d.bring_up(DEPTH, GROUPS).is_err());
    assert!(d.regs.failures() >= 2);
    assert!(matches!(
        d.regs.last_error(),
        Some(ReadLessError::Timeout { .. })
    ));
}
