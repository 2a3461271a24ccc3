//! Script writers behind [`Writer`](crate::ports::Writer): product-copy templates today.

pub mod template;

pub use template::TemplateWriter;
