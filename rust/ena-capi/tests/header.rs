//! `include/ena_model.h` is the one definition of what C sees: the test
//! port's place and registers, its fault bits and the stats layout. The
//! model's own constants must say the same.

use std::collections::HashMap;

use ena_capi::Stats;
use ena_model::test_port;

/// The header's `#define NAME value` lines with a numeric value.
fn defines() -> HashMap<String, u32> {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/ena_model.h"))
            .expect("include/ena_model.h");
    let mut out = HashMap::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let value = value.trim_start_matches('(');
        let v = if let Some(shift) = value.strip_prefix("1u") {
            let bits: u32 = (shift.is_empty() && words.next() == Some("<<"))
                .then(|| words.next())
                .flatten()
                .and_then(|w| w.trim_end_matches(')').parse().ok())
                .unwrap_or_else(|| panic!("{name}: only (1u << N) shifts are understood"));
            1 << bits
        } else if let Some(hex) = value.strip_prefix("0x") {
            u32::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{name}: {value}"))
        } else if let Ok(v) = value.parse() {
            v
        } else {
            continue;
        };
        out.insert(name.to_string(), v);
    }
    out
}

#[test]
fn the_test_port_is_where_the_header_says_with_its_registers() {
    let d = defines();
    let base = d["ENA_MODEL_TEST_PORT"];
    for (name, model) in [
        ("ENA_PORT_FAULTS", test_port::FAULTS),
        ("ENA_PORT_RESETS", test_port::RESETS),
        ("ENA_PORT_LAST_RESET_REASON", test_port::LAST_RESET_REASON),
        ("ENA_PORT_UNSUPPORTED", test_port::UNSUPPORTED),
        ("ENA_PORT_ADMIN_COMMANDS", test_port::ADMIN_COMMANDS),
        ("ENA_PORT_FEATURES_ASKED", test_port::FEATURES_ASKED),
        ("ENA_PORT_FEATURES_REFUSED", test_port::FEATURES_REFUSED),
        ("ENA_PORT_LINK", test_port::LINK),
        ("ENA_PORT_LLQ_ENTRY_SIZE", test_port::LLQ_ENTRY_SIZE),
        ("ENA_PORT_LLQ_QUEUES", test_port::LLQ_QUEUES),
        ("ENA_PORT_LLQ_ENTRIES", test_port::LLQ_ENTRIES),
        ("ENA_PORT_LLQ_BURST_ERRORS", test_port::LLQ_BURST_ERRORS),
        ("ENA_PORT_TX_REORDERED", test_port::TX_REORDERED),
        ("ENA_PORT_COUNTER_SELECT", test_port::COUNTER_SELECT),
        ("ENA_PORT_COUNTER", test_port::COUNTER),
        ("ENA_PORT_HINTS", test_port::HINTS),
    ] {
        assert_eq!(base + d[name], model, "{name}: header and model disagree");
        assert!(
            d[name] < d["ENA_MODEL_TEST_PORT_SIZE"],
            "{name} is outside the port"
        );
    }
    assert!(base + d["ENA_MODEL_TEST_PORT_SIZE"] <= d["ENA_MODEL_BAR0_SIZE"]);
    assert_eq!(d["ENA_MODEL_TEST_PORT_SIZE"], test_port::SIZE);
    // Shown in conventional config space, past the header and MSI-X's capability.
    let cfg = d["ENA_MODEL_TEST_PORT_CFG"];
    assert!(cfg >= 0x80 && cfg + d["ENA_MODEL_TEST_PORT_SIZE"] <= 0x100);
    assert_eq!(d["ENA_MODEL_LLQ_BAR_SIZE"] as u64, ena_model::LLQ_BAR_SIZE);
}

#[test]
fn the_fault_bits_are_the_headers() {
    let d = defines();
    for (name, model) in [
        (
            "ENA_FAULT_WITHHOLD_KEEP_ALIVE",
            test_port::WITHHOLD_KEEP_ALIVE,
        ),
        (
            "ENA_FAULT_WITHHOLD_COMPLETION",
            test_port::WITHHOLD_COMPLETION,
        ),
        (
            "ENA_FAULT_WRONG_COMPLETION_ID",
            test_port::WRONG_COMPLETION_ID,
        ),
        (
            "ENA_FAULT_WITHHOLD_TX_COMPLETIONS",
            test_port::WITHHOLD_TX_COMPLETIONS,
        ),
    ] {
        assert_eq!(d[name], model, "{name}: header and model disagree");
    }
}

#[test]
fn the_counter_ids_are_the_headers() {
    use test_port::counter;
    let d = defines();
    for (name, model) in [
        (
            "ENA_COUNTER_MODERATED_INTERRUPTS",
            counter::MODERATED_INTERRUPTS,
        ),
        ("ENA_COUNTER_INTR_DELAYS", counter::INTR_DELAYS),
        ("ENA_COUNTER_CACHED_META_USES", counter::CACHED_META_USES),
        ("ENA_COUNTER_TX_CSUM_OFFLOADS", counter::TX_CSUM_OFFLOADS),
        ("ENA_COUNTER_RX_OVERRUNS", counter::RX_OVERRUNS),
        ("ENA_COUNTER_RX_DROPS", counter::RX_DROPS),
        ("ENA_COUNTER_RX_PKTS", counter::RX_PKTS),
        ("ENA_COUNTER_RX_OFFSET", counter::RX_OFFSET),
        ("ENA_COUNTER_READLESS_READS", counter::READLESS_READS),
    ] {
        assert_eq!(d[name], model, "{name}: header and model disagree");
    }
}

#[test]
fn the_checks_are_the_headers_by_id_and_name() {
    use ena_model::check;
    let d = defines();
    assert_eq!(d["ENA_CHECK_COUNT"] as usize, check::COUNT);
    assert_eq!(d["ENA_COUNTER_VIOLATIONS"], test_port::counter::VIOLATIONS);
    assert_eq!(
        d["ENA_COUNTER_FIRST_CHECK"],
        test_port::counter::FIRST_CHECK
    );
    assert_eq!(d["ENA_COUNTER_CHECK_BASE"], test_port::counter::CHECK_BASE);
    assert_eq!(d["ENA_COUNTER_FIRST_BASE"], test_port::counter::FIRST_BASE);
    for (id, name) in check::NAMES.iter().enumerate() {
        let define = format!("ENA_CHECK_{}", name.to_uppercase().replace('-', "_"));
        assert_eq!(d.get(&define), Some(&(id as u32)), "{define}");
    }
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/ena_model.h"))
            .unwrap();
    let list = header
        .split("#define ENA_CHECK_NAMES {")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .expect("ENA_CHECK_NAMES in the header");
    let names: Vec<&str> = list
        .split(',')
        .map(|n| n.trim_matches(|c: char| c.is_whitespace() || c == '\\' || c == '"'))
        .collect();
    assert_eq!(names, check::NAMES, "ENA_CHECK_NAMES and check::NAMES");
}

#[test]
fn the_stats_struct_has_the_headers_fields_in_order() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/ena_model.h"))
            .unwrap();
    let body = header
        .split("struct ena_model_stats {")
        .nth(1)
        .and_then(|s| s.split("};").next())
        .expect("struct ena_model_stats in the header");
    let fields: Vec<&str> = body
        .lines()
        .map(|l| l.split("/*").next().unwrap())
        .filter_map(|l| l.trim().strip_prefix("uint64_t "))
        .flat_map(|l| l.trim_end_matches(';').split(','))
        .map(str::trim)
        .collect();
    let s = Stats::default();
    let rust: Vec<String> = format!("{s:?}")
        .trim_start_matches("Stats {")
        .trim_end_matches('}')
        .split(',')
        .map(|f| f.split(':').next().unwrap().trim().to_string())
        .collect();
    assert_eq!(
        fields, rust,
        "struct ena_model_stats and ena_capi::Stats list other fields"
    );
    assert_eq!(std::mem::size_of::<Stats>(), fields.len() * 8);
}
