//! Integration tests of oore-core (one binary, so the suite links once).

mod architecture;
mod corpus;
mod fixtures;
mod huml_suite;
mod robustness;
mod roundtrip;
mod strategies;
mod validation;
mod webhook_fixtures;
