//! The domain's one error type: a value that breaks a rule of the model.

/// A value the model refuses, naming the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field's value is not acceptable.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// The value given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
}
