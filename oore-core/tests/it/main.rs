//! Integration tests of oore-core (one binary, so the suite links once).

mod architecture;
