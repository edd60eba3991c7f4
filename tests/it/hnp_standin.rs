//! The HNP stand-in alone: its REST writes behave as NetBox's serializers and viewsets do
//! (field errors, the unique set, bulk writes in one transaction, 403s), so that what the
//! NetBox source is tested against is worth testing against.

use std::time::Duration;

use fgd_sync::net::client::Client;
use fgd_sync_tests::hnp::{BulkErrors, Cr, Hnp, API};
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

const TOKEN: &str = "standin-token";

/// One request to the stand-in's API: status and JSON body (`null` when empty).
async fn call(hnp: &Hnp, method: &str, path: &str, body: Value) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Token {TOKEN}")).unwrap());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let method: Method = method.parse().unwrap();
    let body = (!body.is_null()).then(|| body.to_string().into_bytes());
    let url = format!("{}{path}", hnp.api_url());
    let response = Client::default().request(method, &url, headers, body).await.expect("the stand-in answers");
    (response.status.as_u16(), serde_json::from_slice(&response.body).unwrap_or(Value::Null))
}

fn vpc(fabric: u64, name: &str) -> Value {
    json!({ "fabric": fabric, "name": name, "spec": {} })
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let cases = [
        (json!({ "name": "a", "spec": {} }), json!({ "fabric": ["This field is required."] })),
        (
            json!({ "fabric": 99, "name": "a", "spec": {} }),
            json!({ "fabric": ["Invalid pk \"99\" - object does not exist."] }),
        ),
        (json!({ "fabric": dc1, "name": "A_b", "spec": {} }), json!({ "name": ["Enter a lowercase RFC 1123 label."] })),
        (json!({ "fabric": dc1, "name": "-a", "spec": {} }), json!({ "name": ["Enter a lowercase RFC 1123 label."] })),
        (
            json!({ "fabric": dc1, "name": "a".repeat(254), "spec": {} }),
            json!({ "name": ["Ensure this field has no more than 253 characters."] }),
        ),
        (
            json!({ "fabric": dc1, "name": "a", "namespace": "Tenant", "spec": {} }),
            json!({ "namespace": ["Enter a lowercase RFC 1123 label."] }),
        ),
        (json!({ "fabric": dc1, "name": "a", "spec": [1] }), json!({ "spec": ["Must be a JSON object."] })),
        (
            json!({ "fabric": dc1, "name": "a", "spec": {}, "labels": { "n": 1 } }),
            json!({ "labels": ["Values must be strings; \"n\" is 1."] }),
        ),
        (
            json!({ "fabric": dc1, "name": "a", "spec": {}, "annotations": "x" }),
            json!({ "annotations": ["Must be a JSON object."] }),
        ),
        (json!([1]), json!([{ "non_field_errors": ["Invalid data. Expected a dictionary, but got int."] }])),
    ];
    for (body, errors) in cases {
        assert_eq!(call(&hnp, "POST", "vpcs/", body.clone()).await, (400, errors), "{body}");
    }
    assert_eq!(hnp.requests().len(), 10);
    assert_eq!(call(&hnp, "GET", "vpcs/", Value::Null).await.1["count"], json!(0));

    // Unknown and read-only fields are ignored; defaults filled in.
    let (status, created) =
        call(&hnp, "POST", "vpcs/", json!({ "fabric": dc1, "name": "a", "spec": {}, "id": 77, "color": "red" })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((&created["id"], &created["namespace"], &created["labels"]), (&json!(1), &json!("default"), &json!({})));
    assert_eq!((&created["sync_error"], &created["last_synced"]), (&json!(""), &Value::Null));
    assert!(created.get("color").is_none());
}

#[tokio::test]
async fn the_unique_set_is_fabric_namespace_and_name() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let dc2 = hnp.add_fabric("dc2");
    let not_unique = json!({ "non_field_errors": ["The fields fabric, namespace, name must make a unique set."] });
    assert_eq!(call(&hnp, "POST", "vpcs/", vpc(dc1, "a")).await.0, 201);
    assert_eq!(call(&hnp, "POST", "vpcs/", vpc(dc1, "a")).await, (400, not_unique.clone()));
    assert_eq!(call(&hnp, "POST", "vpcs/", vpc(dc2, "a")).await.0, 201);
    let mut other_namespace = vpc(dc1, "a");
    other_namespace["namespace"] = json!("tenant");
    assert_eq!(call(&hnp, "POST", "vpcs/", other_namespace).await.0, 201);
    // Per kind: a Switch may share the VPC's name.
    assert_eq!(call(&hnp, "POST", "switches/", vpc(dc1, "a")).await.0, 201);
    // A rename onto a taken name, single and bulk.
    let (_, b) = call(&hnp, "POST", "vpcs/", vpc(dc1, "b")).await;
    let b = b["id"].as_u64().unwrap();
    assert_eq!(call(&hnp, "PATCH", &format!("vpcs/{b}/"), json!({ "name": "a" })).await, (400, not_unique.clone()));
    let (status, body) = call(&hnp, "PATCH", "vpcs/", json!([{ "id": b, "name": "a" }])).await;
    let expected =
        json!({ "detail": "1 of 1 objects failed validation.", "errors": [{ "id": b, "errors": not_unique }] });
    assert_eq!((status, body), (400, expected));
    // Two new rows with one name in one bulk create pass the validators (they see the table
    // before the request) and fail on the database's constraint, as in NetBox.
    let (status, _) = call(&hnp, "POST", "vpcs/", json!([vpc(dc1, "c"), vpc(dc1, "c")])).await;
    assert_eq!(status, 500);
    assert_eq!(call(&hnp, "GET", "vpcs/", Value::Null).await.1["count"], json!(4));
}

#[tokio::test]
async fn bulk_writes_are_one_transaction() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let (status, body) = call(&hnp, "POST", "vpcs/", json!([vpc(dc1, "a"), vpc(dc1, "B"), vpc(dc1, "c")])).await;
    assert_eq!((status, body), (400, json!([{}, { "name": ["Enter a lowercase RFC 1123 label."] }, {}])));
    assert_eq!(call(&hnp, "GET", "vpcs/", Value::Null).await.1["count"], json!(0));

    let (status, created) = call(&hnp, "POST", "vpcs/", json!([vpc(dc1, "a"), vpc(dc1, "b"), vpc(dc1, "c")])).await;
    assert_eq!(status, 201);
    let ids: Vec<u64> = created.as_array().unwrap().iter().map(|o| o["id"].as_u64().unwrap()).collect();
    let names: Vec<&str> = created.as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!((ids.clone(), names), (vec![1, 2, 3], vec!["a", "b", "c"]));

    // A bulk update with one bad object writes none.
    let patch = json!([{ "id": 1, "spec": { "x": 1 } }, { "id": 2, "spec": "no" }]);
    let (status, body) = call(&hnp, "PATCH", "vpcs/", patch).await;
    let errors = json!([{ "id": 2, "errors": { "spec": ["Must be a JSON object."] } }]);
    assert_eq!((status, body), (400, json!({ "detail": "1 of 2 objects failed validation.", "errors": errors })));
    assert_eq!(hnp.object("VPC", 1).unwrap()["spec"], json!({}));
    // Older NetBox: the first bad object's errors alone.
    hnp.set_bulk_errors(BulkErrors::FirstOnly);
    let patch = json!([{ "id": 1, "spec": { "x": 1 } }, { "id": 2, "spec": "no" }, { "id": 3, "labels": [] }]);
    assert_eq!(call(&hnp, "PATCH", "vpcs/", patch).await, (400, json!({ "spec": ["Must be a JSON object."] })));
    hnp.set_bulk_errors(BulkErrors::PerObject);

    // Ids NetBox does not have are skipped without a word; the answer lists what it wrote.
    let before = hnp.object("VPC", 1).unwrap()["last_updated"].clone();
    std::thread::sleep(Duration::from_millis(1100));
    let (status, body) =
        call(&hnp, "PATCH", "vpcs/", json!([{ "id": 99, "spec": {} }, { "id": 1, "spec": { "x": 1 } }])).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().iter().map(|o| o["id"].clone()).collect::<Vec<_>>(), [json!(1)]);
    let after = hnp.object("VPC", 1).unwrap();
    assert_eq!(after["spec"], json!({ "x": 1 }));
    assert!(after["last_updated"].as_str() > before.as_str(), "{before} -> {}", after["last_updated"]);
    // Every item needs an id.
    let (status, body) = call(&hnp, "PATCH", "vpcs/", json!([{ "id": 1 }, { "spec": {} }])).await;
    assert_eq!((status, body), (400, json!([{}, { "id": ["This field is required."] }])));
    let (status, body) = call(&hnp, "PATCH", "vpcs/", json!({ "id": 1 })).await;
    assert_eq!(
        (status, body),
        (400, json!({ "non_field_errors": ["Expected a list of items but got type \"dict\"."] }))
    );

    // A refused object refuses the bulk delete (409), as one other objects depend on.
    hnp.refuse_writes("VPC", "b", "__all__", "Unable to delete: 1 dependent object(s) prevent deletion.");
    let (status, body) = call(&hnp, "DELETE", "vpcs/", json!([{ "id": 1 }, { "id": 2 }])).await;
    let errors =
        json!([{ "id": 2, "errors": { "__all__": "Unable to delete: 1 dependent object(s) prevent deletion." } }]);
    assert_eq!((status, body), (409, json!({ "detail": "1 of 2 objects could not be deleted.", "errors": errors })));
    assert_eq!(call(&hnp, "GET", "vpcs/", Value::Null).await.1["count"], json!(3));
    hnp.clear_refusals();
    assert_eq!(
        call(&hnp, "DELETE", "vpcs/", json!([{ "id": 1 }, { "id": 2 }, { "id": 99 }])).await,
        (204, Value::Null)
    );
    assert_eq!(call(&hnp, "GET", "vpcs/", Value::Null).await.1["count"], json!(1));
    // Bulk requests count once each.
    assert_eq!((hnp.count_method("POST"), hnp.count_method("PATCH"), hnp.count_method("DELETE")), (2, 5, 2));
}

#[tokio::test]
async fn single_object_writes_and_put() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(Cr::new("Switch", dc1, "leaf-1", json!({ "role": "server-leaf" })));
    let (status, body) = call(&hnp, "PATCH", &format!("switches/{id}/"), json!({ "labels": { "rack": "1" } })).await;
    assert_eq!(
        (status, &body["labels"], &body["spec"]),
        (200, &json!({ "rack": "1" }), &json!({ "role": "server-leaf" }))
    );
    // PUT replaces, so it needs every required field.
    let (status, body) = call(&hnp, "PUT", &format!("switches/{id}/"), json!({ "spec": {} })).await;
    let required = json!(["This field is required."]);
    assert_eq!((status, body), (400, json!({ "fabric": required, "name": required })));
    let (status, body) = call(&hnp, "PUT", &format!("switches/{id}/"), vpc(dc1, "leaf-1")).await;
    assert_eq!((status, &body["spec"]), (200, &json!({})));
    assert_eq!(call(&hnp, "DELETE", &format!("switches/{id}/"), Value::Null).await, (204, Value::Null));
    assert_eq!(
        call(&hnp, "DELETE", &format!("switches/{id}/"), Value::Null).await,
        (404, json!({ "detail": "Not found." }))
    );
    assert_eq!(hnp.object("Switch", id), None);
}

#[tokio::test]
async fn forbidden_writes_answer_403_and_reads_still_work() {
    let hnp = Hnp::start(TOKEN).unwrap();
    let dc1 = hnp.add_fabric("dc1");
    let id = hnp.add(Cr::new("VPC", dc1, "a", json!({})));
    hnp.set_writes_forbidden(true);
    let denied = (403, json!({ "detail": "You do not have permission to perform this action." }));
    assert_eq!(call(&hnp, "POST", "vpcs/", vpc(dc1, "b")).await, denied);
    assert_eq!(call(&hnp, "PATCH", "vpcs/", json!([{ "id": id, "spec": { "x": 1 } }])).await, denied);
    assert_eq!(call(&hnp, "DELETE", &format!("vpcs/{id}/"), Value::Null).await, denied);
    assert_eq!(call(&hnp, "GET", &format!("vpcs/{id}/"), Value::Null).await.1["spec"], json!({}));
    hnp.set_writes_forbidden(false);
    assert_eq!(call(&hnp, "POST", "vpcs/", vpc(dc1, "b")).await.0, 201);
    assert_eq!(hnp.count("GET", &format!("{API}vpcs/{id}/")), 1);
}
