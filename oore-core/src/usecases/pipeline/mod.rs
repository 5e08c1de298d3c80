//! Pipeline configuration use cases: validate, show, set, delete, history, restore, convert.

mod convert;
mod manage;
mod validate;

pub use convert::{ConvertError, convert_document};
pub use manage::{
    PipelineError, delete_pipeline, get_pipeline, pipeline_history, restore_pipeline, set_pipeline,
};
pub use validate::{parse_format, validate_document};
