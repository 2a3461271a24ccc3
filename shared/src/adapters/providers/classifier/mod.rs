//! Photo classifiers behind [`Classifier`](crate::ports::Classifier): the offline pixel classifier today.

pub mod pixel;

pub use pixel::PixelClassifier;
