//! The agent's registry: every component type, from the three component crates' lists.

use strata_topology::Registry;

pub fn registry() -> Registry {
    Registry {
        sources: strata_sources::SOURCES,
        transforms: strata_transforms::TRANSFORMS,
        sinks: strata_sinks::SINKS,
    }
}
