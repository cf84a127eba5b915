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
        "write DEV_CTL              = 0x00000001 (reset 1, reason 0)",
        "read  CAPS                 = 0x0002300a (reset timeout 500 ms, DMA width 48, admin timeout 200 ms)",
        "write AQ_CAPS              = 0x00400020 (depth 32, entry 64 bytes)",
        "GET_FEATURE DEVICE_ATTRIBUTES -> SUCCESS",
        "SET_FEATURE AENQ_CONFIG      -> SUCCESS",
        "CREATE_SQ                    -> SUCCESS",
        "MAC 02:e1:ab:00:00:01, max MTU 9216",
        "\"frame 3 from ena-core through the model\"",
        "GET_FEATURE MAX_QUEUES_NUM   -> SUCCESS",
        "completion: id 0, status SUCCESS, phase 1, mac_addr [02, e1, ab, 00, 00, 01], max_mtu 9216",
        "command:    id 5, phase 1, cq_entry_size_words 2, cq_depth 16,",
        "command:    id 8, phase 1, sq_direction rx, placement_policy 1, cq_idx 1, sq_depth 16,",
        "completion: id 6, status SUCCESS, phase 1, sq_idx 0, sq_doorbell_offset 0x1000",
        "== ok: 9 admin commands, 4 sent, 4 received",
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
