//! The learning CLI prints the bring-up as a learner would read it.
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ena-trace"))
        .args(args)
        .output()
        .expect("running ena-trace");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn trace_names_registers_admin_commands_and_frames() {
    let (code, out, err) = run(&["--trace", "--frames", "4"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "write DEV_CTL              = 0x00000001 (reset 1, reason 0, reason_ext 0)",
        "read  CAPS                 = 0x000a300a (reset timeout 500 ms, DMA width 48, admin timeout 1000 ms)",
        "write AQ_CAPS              = 0x00400020 (depth 32, entry 64 bytes)",
        "GET_FEATURE DEVICE_ATTRIBUTES -> SUCCESS",
        "SET_FEATURE AENQ_CONFIG      -> SUCCESS",
        "CREATE_SQ                    -> SUCCESS",
        "MAC 02:e1:ab:00:00:01, max MTU 9216",
        "\"frame 3 from ena-core through the model\"",
        "GET_FEATURE MAX_QUEUES_NUM   -> SUCCESS",
        "completion: id 0, status SUCCESS, phase 1, mac_addr [02, e1, ab, 00, 00, 01], max_mtu 9216",
        "command:    id 7, phase 1, cq_entry_size_words 2, cq_depth 16,",
        "command:    id 10, phase 1, sq_direction rx, placement_policy 1, cq_idx 1, sq_depth 16,",
        "completion: id 8, status SUCCESS, phase 1, sq_idx 0, sq_doorbell_offset 0x1000",
        "== ok: 11 admin commands, 4 sent, 4 received",
        // LLQ: the offer, the layout chosen, the queue in device memory.
        "GET_FEATURE LLQ              -> SUCCESS",
        "completion: id 2, status SUCCESS, phase 1, max_llq_num 8, max_llq_depth 1024, \
         header_location_ctrl_supported 0x1, entry_size_ctrl_supported 0x7, \
         entry_size_recommended 4 (256 B)",
        "command:    id 6, phase 1, header_location_ctrl_enabled 1 (inline), \
         entry_size_ctrl_enabled 4 (256 B), desc_num_before_header_enabled 2, \
         descriptors_stride_ctrl_enabled 2 (multiple), accel_mode enabled_flags 0x3",
        "command:    id 8, phase 1, sq_direction tx, placement_policy 3,",
        "Tx placement: device (LLQ), 256-byte entries: the header inline after 2 descriptor(s)",
        "write BAR2+0x00300         = 256-byte LLQ entry (meta+first phase 1, \
         data+last+comp_req phase 1; header 39 bytes inline)",
        "tx req_id 3 (1 entry) -> rx req_id 3",
    ] {
        assert!(out.contains(want), "output lacks {want:?}:\n{out}");
    }
}

#[test]
fn host_placement_on_request() {
    let (code, out, err) = run(&["--host", "--trace", "--frames", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("LLQ"), "no LLQ asked or written:\n{out}");
    for want in [
        "sq_direction tx, placement_policy 1,",
        "Tx placement: host memory",
        "tx req_id 1 (1 desc) -> rx req_id 1",
        "== ok: 9 admin commands, 2 sent, 2 received",
    ] {
        assert!(out.contains(want), "output lacks {want:?}:\n{out}");
    }
}

#[test]
fn without_trace_no_register_lines_and_bad_arguments_are_refused() {
    let (code, out, _) = run(&[]);
    assert_eq!(code, 0);
    assert!(!out.contains("write DEV_CTL"));
    assert!(
        !out.contains("command:"),
        "decoded admin fields belong to --trace"
    );
    assert!(out.contains("3 sent, 3 received"));
    let (code, _, err) = run(&["--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown argument '--frobnicate'"));
}
