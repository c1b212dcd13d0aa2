//! The component API: what a source, a transform or a sink implements, and what the runtime hands
//! it in return.
//!
//! A component is a config struct that deserializes its options and builds the running component:
//! [`SourceConfig`], [`TransformConfig`], [`SinkConfig`]. Component crates list theirs in one
//! static registry each ([`SourceRegistration`] and friends). The running pieces talk to the
//! pipeline only through what their context gives them: a [`SourceSender`], a transform's outputs,
//! a sink's [`SinkInput`], a [`ShutdownSignal`] and their [`ComponentMetrics`]. They never see the
//! topology.
//!
//! This crate also owns the channels between stages ([`buffer`]), fan-out ([`fanout`]) and the
//! agent's own telemetry ([`telemetry`]).

pub mod buffer;
pub mod compliance;
pub mod component;
pub mod config;
pub mod dead_letter;
pub mod disk_buffer;
pub mod fanout;
pub mod shutdown;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod testing;
pub mod transform;

pub use buffer::{BufferConfig, BufferReceiver, BufferSender, WeakBufferSender};
pub use component::{ComponentKey, ComponentKind, ComponentMeta, OutputId};
pub use config::{
    AcknowledgementsConfig, BuildError, ComponentError, ConfigParseError, GlobalOptions, LogSchema, Output,
    Resource, SinkConfig, SinkRegistration, SourceConfig, SourceRegistration, TransformConfig,
    TransformRegistration, parse_options,
};
pub use dead_letter::{DEAD_LETTER_FIELD, REJECTED_OUTPUT, RejectedOutput, Rejection};
pub use fanout::{ControlMessage, Fanout};
pub use shutdown::ShutdownSignal;
pub use sink::{Healthcheck, Sink, SinkContext, SinkInput};
pub use source::{SourceContext, SourceSender};
pub use telemetry::{ComponentMetrics, RateLimitedLog};
pub use transform::{
    SyncTransform, TaskTransform, Transform, TransformContext, TransformInput, TransformOutputs,
    TransformOutputsBuf,
};

pub use strata_event::DataType;
