//! Integration tests: the real `oore` binary against a real `oored` (`oore_testkit::TestServer`).
