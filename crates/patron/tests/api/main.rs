//! Black-box tests: the real server over HTTP on port 0, a fresh database per test.

mod helpers;
mod ledger;
mod members;
mod programs;
mod rewards;
mod validation;
