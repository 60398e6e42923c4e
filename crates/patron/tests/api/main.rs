//! Black-box tests: the real server over HTTP on port 0, a fresh database per test.

mod helpers;
mod ledger;
mod listrak;
mod members;
mod programs;
mod validation;
