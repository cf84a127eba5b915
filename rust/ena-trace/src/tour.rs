//! The tour: a device trace (QEMU's `ena` trace=FILE) told in chapters, in
//! the order a driver meets its device. Each chapter says what happened
//! (the trace's own lines, the first few of each kind), why (a few
//! sentences) and where in the driver's source (each function the lines
//! name, found in a source tree). Text for a terminal, and one HTML page
//! with the whole timeline.

use std::fmt::Write as _;
use std::path::Path;

/// One line of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub time: String,
    pub what: String,
    pub function: Option<String>,
}

impl Line {
    /// `   12.345678 what  <- function`
    pub fn parse(s: &str) -> Option<Self> {
        let (time, rest) = s.trim_start().split_once(' ')?;
        if !time.contains('.') || !time.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        let (what, function) = match rest.rsplit_once("  <- ") {
            Some((w, f)) => (w, Some(f.to_string())),
            None => (rest, None),
        };
        Some(Self {
            time: time.to_string(),
            what: what.to_string(),
            function,
        })
    }
}

/// A chapter: the lines whose text starts with one of `prefixes`.
pub struct Chapter {
    pub title: &'static str,
    pub why: &'static str,
    pub prefixes: &'static [&'static str],
}

/// In the order a driver meets its device. A line goes to the chapter
/// with the longest prefix it starts with (the most specific); after the
/// first reset that is not the probe's (the driver recovering), every line
/// goes to the last chapter.
pub const CHAPTERS: [Chapter; 9] = [
    Chapter {
        title: "Probe and reset",
        why: "The driver first resets the device (DEV_CTL) and waits for DEV_STS to say the reset \
              is done, then checks the versions and reads CAPS for the timeouts and the DMA width. \
              On EC2 registers are read the read-less way: the driver asks by MMIO_REG_READ and \
              the device writes the value into host memory, cheaper than a read under virtualisation.",
        prefixes: &[
            "write DEV_CTL",
            "read  DEV_STS",
            "read  VERSION",
            "read  CONTROLLER_VERSION",
            "read  CAPS",
            "read-less",
            "write MMIO_RESP",
            "PCI reset",
        ],
    },
    Chapter {
        title: "The admin queue",
        why: "Everything else is asked through the admin queue: a ring of 64-byte commands in host \
              memory whose base and depth the driver writes to AQ/ACQ registers, a doorbell (AQ_DB) \
              for each command, and a completion ring the driver polls, or waits on by interrupt \
              once INTR_MASK lets them through.",
        prefixes: &["write AQ_", "write ACQ_", "write INTR_MASK"],
    },
    Chapter {
        title: "Device attributes and features",
        why: "GET_FEATURE tells the driver what the device is (MAC, MTU, the features it supports, \
              queue limits, offloads, hints); SET_FEATURE tells the device about the host (the \
              host info page) and what the driver chose (MTU). The driver asks only for features \
              the device listed in supported_features.",
        prefixes: &["admin GET_FEATURE", "admin SET_FEATURE", "admin GET_STATS"],
    },
    Chapter {
        title: "AENQ and keep-alive",
        why: "The asynchronous event queue carries what the device has to say unasked: link changes, \
              notifications such as new hints, and a keep-alive every second. The driver enables \
              the groups it handles; when keep-alives stop for its watchdog's timeout it resets the \
              device. Each event moves AENQ_HEAD_DB, which gives the device room for the next.",
        prefixes: &[
            "write AENQ_",
            "admin GET_FEATURE AENQ_CONFIG",
            "admin SET_FEATURE AENQ_CONFIG",
            "event",
        ],
    },
    Chapter {
        title: "IO queues and LLQ",
        why: "Each queue pair is a Tx and an Rx submission queue, each with its completion queue, \
              created by admin commands. On Nitro the Tx queue lives in the device's own memory \
              (LLQ): the driver picks an entry size and layout from what GET_FEATURE LLQ offers, \
              sets it, and writes whole entries, header inline, through a write-combined BAR.",
        prefixes: &[
            "admin CREATE_",
            "admin DESTROY_",
            "admin GET_FEATURE LLQ",
            "admin SET_FEATURE LLQ",
        ],
    },
    Chapter {
        title: "Tx",
        why: "A packet is a chain of descriptors (a meta descriptor for offloads first, when it \
              changed), FIRST on the first, LAST and COMP_REQ where they belong; the doorbell \
              moves the queue's tail once per burst. The device completes each packet by its \
              request id, not necessarily in order.",
        prefixes: &["doorbell tx"],
    },
    Chapter {
        title: "Rx and RSS",
        why: "The driver posts empty buffers and rings the Rx doorbell; the device fills them and \
              writes completions with the protocol and checksum verdicts. The RSS indirection \
              table, set by the driver, steers each flow to one queue by a Toeplitz hash.",
        prefixes: &["doorbell rx", "summary", "admin GET_FEATURE RSS", "admin SET_FEATURE RSS"],
    },
    Chapter {
        title: "Interrupts",
        why: "Vector 0 carries admin completions and events; each queue pair has its own vector, \
              which fires once and stays masked until NAPI is done and the driver writes the \
              unmask register, whose delays (interrupt moderation) hold the next one back.",
        prefixes: &["unmask", "admin GET_FEATURE INTERRUPT_MODERATION"],
    },
    Chapter {
        title: "Reset and recovery",
        why: "When the device goes silent (no keep-alive), stops answering admin commands or \
              leaves Tx packets uncompleted, the driver resets it with a reason and brings it up \
              again from the start: reset, admin queue, features, queues. Violations of the \
              protocol the device noticed are named here too.",
        prefixes: &["violation"],
    },
];

/// Lines shown per kind (the text before its first digit) in a chapter,
/// and in all.
const PER_KIND: usize = 3;
const PER_CHAPTER: usize = 12;

/// The trace's lines sorted into chapters.
pub fn chapters(lines: &[Line]) -> Vec<Vec<&Line>> {
    let mut out: Vec<Vec<&Line>> = vec![Vec::new(); CHAPTERS.len()];
    let last = CHAPTERS.len() - 1;
    let mut resets = 0;
    for l in lines {
        let reset = l.what.starts_with("write DEV_CTL") && l.what.contains("(reset 1");
        resets += reset as usize;
        let i = if resets > 1 {
            last
        } else {
            CHAPTERS
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.prefixes.iter().map(move |p| (i, p)))
                .filter(|(_, p)| l.what.starts_with(*p))
                .max_by_key(|(_, p)| p.len())
                .map_or(last, |(i, _)| i)
        };
        out[i].push(l);
    }
    out
}

/// The first few lines of each kind: enough to see, short enough to read.
fn sample<'a>(lines: &[&'a Line]) -> (Vec<&'a Line>, usize) {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut shown = Vec::new();
    for l in lines {
        let kind: String = l.what.chars().take_while(|c| !c.is_ascii_digit()).collect();
        let n = match seen.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => n,
            None => {
                seen.push((kind, 0));
                &mut seen.last_mut().unwrap().1
            }
        };
        *n += 1;
        if *n <= PER_KIND && shown.len() < PER_CHAPTER {
            shown.push(*l);
        }
    }
    let hidden = lines.len() - shown.len();
    (shown, hidden)
}

/// Where `function` is defined in the source tree `root`: "file:line".
pub fn locate(root: &Path, function: &str) -> Option<String> {
    let mut stack = vec![root.to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "c" || x == "h") {
                files.push(p);
            }
        }
    }
    files.sort();
    let call = format!("{function}(");
    for f in files {
        let text = std::fs::read_to_string(&f).ok()?;
        for (n, line) in text.lines().enumerate() {
            // A definition starts in column 0 with its return type (a
            // header's inline helpers too).
            let defines = !line.starts_with(char::is_whitespace)
                && !line.ends_with(';')
                && line
                    .split(&call)
                    .next()
                    .is_some_and(|head| head.ends_with(' ') || head.ends_with('*'))
                && line.contains(&call);
            if defines {
                let rel = f.strip_prefix(root).unwrap_or(&f);
                return Some(format!("{}:{}", rel.display(), n + 1));
            }
        }
    }
    None
}

/// The functions a chapter's lines name, each where it is defined.
fn sources(lines: &[&Line], root: Option<&Path>) -> Vec<String> {
    let mut fs: Vec<&str> = Vec::new();
    for l in lines {
        if let Some(f) = l.function.as_deref() {
            if !fs.contains(&f) {
                fs.push(f);
            }
        }
    }
    fs.iter()
        .map(|f| match root.and_then(|r| locate(r, f)) {
            Some(at) => format!("{f} ({at})"),
            None => f.to_string(),
        })
        .collect()
}

/// The tour for a terminal.
pub fn text(lines: &[Line], root: Option<&Path>) -> String {
    let mut out = String::new();
    for (i, (c, ls)) in CHAPTERS.iter().zip(chapters(lines)).enumerate() {
        let _ = writeln!(out, "\n== {}. {} ({} events)\n", i + 1, c.title, ls.len());
        let _ = writeln!(out, "{}\n", wrap(c.why, 90));
        let (shown, hidden) = sample(&ls);
        for l in shown {
            let _ = writeln!(out, "  {:>14}  {}", l.time, l.what);
        }
        if hidden > 0 {
            let _ = writeln!(out, "  {:>14}  ... and {hidden} more", "");
        }
        let src = sources(&ls, root);
        if !src.is_empty() {
            let _ = writeln!(out, "\n  where: {}", src.join(", "));
        }
    }
    out
}

fn wrap(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut col = 0;
    for w in s.split_whitespace() {
        if col > 0 && col + 1 + w.len() > width {
            out.push('\n');
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(w);
        col += w.len();
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The tour as one HTML page: the chapters, then the whole timeline, each
/// line linked to its chapter. No scripts, no outside resources.
pub fn html(lines: &[Line], root: Option<&Path>) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>ENA tour</title><style>body{font-family:sans-serif;max-width:70em;margin:auto}\
         pre,td.t{font-family:monospace}td{vertical-align:top;padding:0 .5em}\
         .f{color:#666}</style></head><body>\n<h1>An ENA driver, seen from the device</h1>\n",
    );
    let parts = chapters(lines);
    out.push_str("<ol>\n");
    for (i, c) in CHAPTERS.iter().enumerate() {
        let _ = writeln!(
            out,
            "<li><a href=\"#c{i}\">{}</a> ({} events)</li>",
            escape(c.title),
            parts[i].len()
        );
    }
    out.push_str("</ol>\n");
    for (i, (c, ls)) in CHAPTERS.iter().zip(&parts).enumerate() {
        let _ = writeln!(
            out,
            "<h2 id=\"c{i}\">{}. {}</h2>\n<p>{}</p>",
            i + 1,
            escape(c.title),
            escape(c.why)
        );
        let (shown, hidden) = sample(ls);
        out.push_str("<pre>");
        for l in shown {
            let _ = writeln!(out, "{:>14}  {}", escape(&l.time), escape(&l.what));
        }
        if hidden > 0 {
            let _ = writeln!(out, "{:>14}  ... and {hidden} more", "");
        }
        out.push_str("</pre>\n");
        let src = sources(ls, root);
        if !src.is_empty() {
            let _ = writeln!(out, "<p class=\"f\">where: {}</p>", escape(&src.join(", ")));
        }
    }
    out.push_str("<h2 id=\"timeline\">The whole timeline</h2>\n<table>\n");
    for l in lines {
        let i = parts
            .iter()
            .position(|p| p.iter().any(|x| std::ptr::eq(*x, l)))
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "<tr><td class=\"t\">{}</td><td><a href=\"#c{i}\">{}</a></td><td class=\"t\">{}</td><td class=\"f\">{}</td></tr>",
            escape(&l.time),
            i + 1,
            escape(&l.what),
            escape(l.function.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: &str, what: &str, f: &str) -> String {
        format!("{t:>13} {what}  <- {f}")
    }

    fn trace() -> Vec<Line> {
        [
            line(
                "0.000100",
                "write DEV_CTL = 0x00000001 (reset 1, reason 0, reason_ext 0)",
                "ena_com_dev_reset",
            ),
            line(
                "0.000200",
                "read  DEV_STS = 0x00000001 (ready 1, reset in progress 0)",
                "wait_for_reset_state",
            ),
            line(
                "0.000300",
                "write AQ_BASE_LO = 0x00001000",
                "ena_com_admin_init",
            ),
            line(
                "0.000400",
                "admin GET_FEATURE DEVICE_ATTRIBUTES [id 0] -> [id 0, status SUCCESS]",
                "ena_com_get_dev_attr_feat",
            ),
            line(
                "0.000500",
                "admin SET_FEATURE AENQ_CONFIG [id 1] -> [id 1, status SUCCESS]",
                "ena_com_set_aenq_config",
            ),
            line(
                "0.000600",
                "event LINK_CHANGE (link up)",
                "ena_update_on_link_change",
            ),
            line(
                "0.000700",
                "admin CREATE_SQ [id 2, sq_direction tx] -> [id 2, status SUCCESS]",
                "ena_com_create_io_sq",
            ),
            line(
                "0.000800",
                "doorbell tx q0: tail 1: 1 packets in 1 entries, req_id 0..0",
                "ena_com_write_tx_sq_doorbell",
            ),
            line(
                "0.000900",
                "doorbell rx q1: tail 255: 255 buffers posted",
                "ena_refill_rx_bufs",
            ),
            line(
                "0.001000",
                "unmask cq1: rx delay 0, tx delay 64 units",
                "ena_unmask_interrupt",
            ),
            line(
                "7.000000",
                "write DEV_CTL = 0x10000001 (reset 1, reason 1, reason_ext 0)",
                "ena_com_dev_reset",
            ),
            line(
                "7.000100",
                "admin GET_FEATURE DEVICE_ATTRIBUTES [id 9] -> [id 9, status SUCCESS]",
                "ena_com_get_dev_attr_feat",
            ),
            "not a trace line".to_string(),
        ]
        .iter()
        .filter_map(|s| Line::parse(s))
        .collect()
    }

    #[test]
    fn a_line_parses_into_time_text_and_function() {
        let l = Line::parse("     0.000100 write DEV_CTL = 0x1  <- ena_com_dev_reset").unwrap();
        assert_eq!(l.time, "0.000100");
        assert_eq!(l.what, "write DEV_CTL = 0x1");
        assert_eq!(l.function.as_deref(), Some("ena_com_dev_reset"));
        assert_eq!(Line::parse("garbage here"), None);
    }

    #[test]
    fn every_chapter_gets_its_events_and_recovery_takes_what_follows_the_second_reset() {
        let t = trace();
        assert_eq!(t.len(), 12);
        let c = chapters(&t);
        for (i, ch) in CHAPTERS.iter().enumerate() {
            assert!(!c[i].is_empty(), "chapter {} is empty", ch.title);
        }
        let recovery = &c[CHAPTERS.len() - 1];
        assert_eq!(
            recovery.len(),
            2,
            "the reset for the keep-alive loss and what followed"
        );
        assert!(recovery[0].what.contains("reason 1"));
    }

    #[test]
    fn the_text_has_every_chapter_with_why_and_where() {
        let out = text(&trace(), None);
        for (i, c) in CHAPTERS.iter().enumerate() {
            assert!(out.contains(&format!("== {}. {}", i + 1, c.title)), "{out}");
        }
        assert!(out.contains("where: ena_com_dev_reset, wait_for_reset_state"));
    }

    #[test]
    fn the_page_is_self_contained_escaped_and_links_each_line_to_its_chapter() {
        let page = html(&trace(), None);
        assert!(
            !page.contains("<script") && !page.contains("http"),
            "offline, no scripts"
        );
        assert!(page.contains("-&gt; [id 0, status SUCCESS]"), "escaped");
        for c in CHAPTERS {
            assert!(page.contains(&escape(c.title)));
        }
        assert_eq!(page.matches("<tr>").count(), 12, "one row per line");
    }

    #[test]
    fn functions_are_found_where_they_are_defined() {
        let dir = std::env::temp_dir().join(format!("ena-tour-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("ena")).unwrap();
        std::fs::write(
            dir.join("ena/ena_com.c"),
            "static int helper(void);\n\nint ena_com_dev_reset(struct ena_com_dev *dev,\n\t\t      int reason)\n{\n\treturn helper();\n}\n",
        )
        .unwrap();
        assert_eq!(
            locate(&dir, "ena_com_dev_reset").as_deref(),
            Some("ena/ena_com.c:3")
        );
        assert_eq!(
            locate(&dir, "helper"),
            None,
            "a declaration is not a definition"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
