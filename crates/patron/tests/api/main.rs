//! Black-box tests: the real server over HTTP on port 0, a fresh database per test.

mod console;
mod console_pages;
mod crash;
mod dashboard;
mod digest;
mod expiry;
mod helpers;
mod ledger;
mod listrak;
mod listrak_delivery;
mod member_tokens;
mod members;
mod native_mail;
mod programs;
mod referrals;
mod rewards;
mod tiers;
mod validation;
mod winback;
