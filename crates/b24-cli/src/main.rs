//! The `b24` command-line tool (work in progress).

fn main() {}
