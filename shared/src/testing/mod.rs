//! Test helpers other crates use too (feature `testing`): a loopback HTTP server, a stub of every
//! paid video provider on it (each with its own `Script`), a stub of the vision judges' APIs, big
//! flat PNGs made on the spot, and where the AWS emulator is.

pub mod fal;
pub mod http_server;
pub mod kling;
pub mod luma;
pub mod png;
pub mod replicate;
pub mod runway;
pub mod seedance;
pub mod veo;
pub mod vision;

pub use fal::FalStub;
pub use http_server::{RecordedRequest, Reply, TestServer};
pub use kling::KlingStub;
pub use luma::LumaStub;
pub use replicate::ReplicateStub;
pub use runway::{RunwayStub, Script};
pub use seedance::SeedanceStub;
pub use veo::VeoStub;
pub use vision::VisionStub;

#[cfg(test)]
mod tests;

/// The AWS emulator the suite runs against (`TRUEREEL_TEST_AWS_ENDPOINT`, which `scripts/test.sh` sets),
/// or `None` after a skip line when there is none. Under CI (`CI` set) a missing emulator fails the test:
/// CI must run the AWS tests.
pub fn emulator_endpoint() -> Option<String> {
    let endpoint = std::env::var("TRUEREEL_TEST_AWS_ENDPOINT").ok().filter(|v| !v.trim().is_empty());
    if endpoint.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but TRUEREEL_TEST_AWS_ENDPOINT is not: start the emulator with \
             eval \"$(bash scripts/aws-emulator.sh start)\" (scripts/test.sh does)"
        );
        eprintln!("skipped: no AWS emulator (TRUEREEL_TEST_AWS_ENDPOINT is unset; scripts/test.sh starts one)");
    }
    endpoint
}
