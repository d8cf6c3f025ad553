//! The README stays honest: its key table is the default keymap's.

use switchboard::tui::keymap::Keymap;

#[test]
fn readme_key_table_matches_the_default_keymap() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- keys:start -->\n")
        .expect("keys:start marker")
        + 20;
    let end = readme.find("<!-- keys:end -->").expect("keys:end marker");
    assert_eq!(
        &readme[start..end],
        Keymap::default_keymap().markdown(),
        "regenerate the table with `cargo run -- keys`"
    );
}

#[test]
fn readme_names_the_two_set_up_commands() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("cargo run --release\n"));
    assert!(readme.contains("cargo test\n"));
    for shot in [
        "list",
        "empty",
        "filter",
        "create",
        "password-once",
        "credentials",
        "users",
        "application",
        "offline",
    ] {
        assert!(readme.contains(&format!("screenshots/{shot}.png")));
    }
}
