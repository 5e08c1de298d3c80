//! The `wire_enum!` macro: one enumerated string of the API (a status, a provider, an error
//! code) as a Rust enum that reads values it does not know as `Unknown`, so an older client
//! keeps working against a newer server that added a value.
//!
//! Each enum gets `as_str()` (the wire spelling), `Display`, `from_wire()`, comparison with
//! the wire spelling as `&str` (for tests and assertions; code matches on the enum), and an
//! OpenAPI schema listing exactly the known values. `Unknown` is left out of the schema: a
//! server never sends it.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The OpenAPI schema of a wire enum: a string with the known `values`, described by the
/// type's doc lines followed by one line per value with that value's doc.
pub(crate) fn string_enum_schema(
    doc: &[&str],
    values: &[(&'static str, &[&str])],
) -> RefOr<Schema> {
    let mut description = doc_text(doc);
    description.push('\n');
    for (value, doc) in values {
        let text = doc_text(doc);
        description.push_str(&format!("\n- `{value}`"));
        if !text.is_empty() {
            description.push_str(&format!(": {}", text.replace('\n', " ")));
        }
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values.iter().map(|(value, _)| *value)))
        .into()
}

/// Doc-comment lines (each with the space after `///`) as one text.
fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Declares a wire enum (see the module doc):
///
/// ```text
/// wire_enum! {
///     /// A build's status.
///     BuildStatusDto {
///         /// Waiting for a worker.
///         Pending = "pending",
///     }
/// }
/// ```
macro_rules! wire_enum {
    (
        $(#[doc = $doc:literal])*
        $name:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        ///
        /// A value this version does not know reads as `Unknown` (an older client reading a
        /// newer server).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                $(#[doc = $vdoc])*
                #[serde(rename = $text)]
                $variant,
            )+
            /// A value this version does not know, sent by a newer server. It is written
            /// back as `unknown`.
            #[serde(rename = "unknown", other)]
            Unknown,
        }

        impl $name {
            /// Every value this version knows, in declaration order (without `Unknown`).
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// The wire spelling; `unknown` for [`Self::Unknown`].
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown => "unknown",
                }
            }

            /// The value spelled `text` on the wire; [`Self::Unknown`] for anything else.
            pub fn from_wire(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    _ => Self::Unknown,
                }
            }

            /// True for a value this version does not know.
            pub const fn is_unknown(self) -> bool {
                matches!(self, Self::Unknown)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::api::wire_enum::string_enum_schema(
                    &[$($doc),*],
                    &[$(($text, &[$($vdoc),*])),+],
                )
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

pub(crate) use wire_enum;
