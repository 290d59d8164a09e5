//! Partner statements (API 1.1) over HTTP.
