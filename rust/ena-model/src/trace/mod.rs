//! The device's trace: what a driver does, seen from the device and told
//! in the words of the C headers (`decode`), each event with the driver
//! function that produces it (`functions.tsv`, the table qemu/README.md
//! shows). Off by default; the lines go to the platform as they happen
//! (QEMU writes them to the file its `trace` property names), so the model
//! holds none of them, and the data path is summarized: each queue's first
//! doorbells in detail, then a tally a second.

pub mod decode;

/// The driver-function table: keys, functions, model behaviour.
pub const FUNCTIONS: &str = include_str!("functions.tsv");

/// The table's rows: (key=function pairs, functions, behaviour).
fn rows() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    FUNCTIONS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let mut c = l.splitn(3, '\t');
            Some((c.next()?, c.next()?, c.next()?))
        })
}

/// The driver function behind an event key: the pair whose key is the
/// longest prefix of `key`.
pub fn function_of(key: &str) -> Option<&'static str> {
    rows()
        .flat_map(|(pairs, _, _)| pairs.split(';'))
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| !k.is_empty() && key.starts_with(k))
        .max_by_key(|(k, _)| k.len())
        .map(|(_, f)| f)
}

/// qemu/README.md's "Which driver functions exercise which part" table.
pub fn readme_table() -> String {
    let mut t =
        String::from("| driver (ena_netdev.c / ena_com.c) | model behaviour |\n| --- | --- |\n");
    for (_, functions, behaviour) in rows() {
        t.push_str(&format!("| {functions} | {behaviour} |\n"));
    }
    t
}

/// Doorbells (and unmask writes) of a queue traced one by one before the
/// tally takes over.
pub const DETAILED: u32 = 8;

/// What a queue did since the last summary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    /// Doorbells (or unmasks) traced one by one so far.
    pub detailed: u32,
    pub doorbells: u64,
    pub packets: u64,
    pub bytes: u64,
    pub unmasks: u64,
}

impl Tally {
    pub fn busy(&self) -> bool {
        self.doorbells + self.packets + self.unmasks > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_three_columns_and_every_pair_a_function() {
        for (pairs, functions, behaviour) in rows() {
            assert!(
                !functions.is_empty() && !behaviour.is_empty(),
                "{functions}"
            );
            for p in pairs.split(';').filter(|p| !p.is_empty()) {
                let (k, f) = p.split_once('=').unwrap_or_else(|| panic!("{p}: no '='"));
                assert!(!k.is_empty() && !f.is_empty(), "{p}");
            }
        }
    }

    #[test]
    fn the_longest_key_wins() {
        assert_eq!(function_of("write AQ_DB"), Some("ena_com_submit_admin_cmd"));
        assert_eq!(function_of("write AQ_BASE_LO"), Some("ena_com_admin_init"));
        assert_eq!(
            function_of("admin GET_FEATURE LLQ"),
            Some("ena_com_get_dev_attr_feat")
        );
        assert_eq!(
            function_of("admin SET_FEATURE LLQ"),
            Some("ena_com_set_llq")
        );
        assert_eq!(
            function_of("admin GET_FEATURE EXTRA"),
            Some("ena_com_execute_admin_command")
        );
        assert_eq!(function_of("nothing like it"), None);
    }

    #[test]
    fn the_readme_shows_the_table() {
        let readme = include_str!("../../../../qemu/README.md");
        assert!(
            readme.contains(&readme_table()),
            "qemu/README.md's driver-function table differs from trace/functions.tsv; it should read:\n{}",
            readme_table()
        );
    }
}
