//! The host's WIT types <-> the guest's model types, for tests that run the guest natively
//! beside the component: a serde round trip, since the model types serialize exactly as the
//! host's bindgen types do (see `fgd_sync_guest::model`). No field-by-field copy to drift.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// `value` as the same data in the other type family; panics when the two forms disagree
/// (a WIT change the model did not follow, or the reverse).
pub fn convert<T: Serialize, U: DeserializeOwned>(value: &T) -> U {
    let json = serde_json::to_value(value).expect("WIT and model types serialize");
    serde_json::from_value(json.clone()).unwrap_or_else(|e| {
        panic!("{} does not read as {}: {e}\n{json}", std::any::type_name::<T>(), std::any::type_name::<U>())
    })
}
