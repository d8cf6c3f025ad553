//! `/api/openapi.json` describes every route, with request, response and
//! error bodies, and names nothing the router does not serve.

use http::Method;
use serde_json::Value;
use switchboard::client::Client;
use switchboard::model::Source;

const ROUTES: &[(&str, &str, bool)] = &[
    // (method, path, has a request body)
    ("get", "/healthz", false),
    ("get", "/readyz", false),
    ("get", "/api/openapi.json", false),
    ("get", "/api/v1/me", false),
    ("get", "/api/v1/account", false),
    ("patch", "/api/v1/account", true),
    ("get", "/api/v1/visuals", false),
    ("post", "/api/v1/demo", false),
    ("get", "/api/v1/connections", false),
    ("post", "/api/v1/connections", true),
    ("get", "/api/v1/connections/{code}", false),
    ("patch", "/api/v1/connections/{code}", true),
    ("delete", "/api/v1/connections/{code}", false),
    ("get", "/api/v1/connections/{code}/audit", false),
    ("post", "/api/v1/session", true),
    ("delete", "/api/v1/session", false),
    ("get", "/api/v1/users", false),
    ("post", "/api/v1/users", true),
    ("delete", "/api/v1/users/{username}", false),
    ("put", "/api/v1/users/{username}/password", true),
    ("get", "/api/v1/connections/{code}/credentials", false),
    ("post", "/api/v1/connections/{code}/secret/reveal", false),
    ("post", "/api/v1/connections/{code}/secret", false),
    ("post", "/api/v1/connections/{code}/password", false),
    ("get", "/api/v1/connections/{code}/used-by", false),
    ("post", "/api/v1/connections/{code}/test", false),
    ("get", "/api/v1/connections/{code}/monitoring", false),
    ("get", "/api/v1/monitoring", false),
    ("post", "/api/v1/connections/{code}/replace", true),
    ("get", "/api/v1/integrations", false),
    ("post", "/api/v1/integrations", true),
    ("get", "/api/v1/integrations/{code}", false),
    ("patch", "/api/v1/integrations/{code}", true),
    ("delete", "/api/v1/integrations/{code}", false),
    ("post", "/api/v1/integrations/{code}/registrations", true),
    (
        "delete",
        "/api/v1/integrations/{code}/registrations/{connection}",
        false,
    ),
    ("get", "/api/v1/integrations/{code}/access", false),
    ("put", "/api/v1/integrations/{code}/access/{username}", true),
    ("get", "/api/v1/flows", false),
    ("get", "/api/v1/flows/{code}", false),
    ("put", "/api/v1/flows/{code}", true),
    ("delete", "/api/v1/flows/{code}", false),
    ("post", "/api/oauth/v1/token", true),
    ("post", "/api/oauth/v1/revoke", true),
    ("get", "/api/rest/v1", false),
    ("get", "/api/rest/v1/products", false),
    ("post", "/api/rest/v1/products", true),
    ("patch", "/api/rest/v1/products", true),
    ("get", "/api/rest/v1/products-uuid", false),
    ("post", "/api/rest/v1/products-uuid", true),
    ("patch", "/api/rest/v1/products-uuid", true),
    ("get", "/api/rest/v1/products-uuid/{uuid}", false),
    ("patch", "/api/rest/v1/products-uuid/{uuid}", true),
    ("delete", "/api/rest/v1/products-uuid/{uuid}", false),
    ("get", "/api/rest/v1/products/{identifier}", false),
    ("patch", "/api/rest/v1/products/{identifier}", true),
    ("delete", "/api/rest/v1/products/{identifier}", false),
    ("get", "/api/v1/roles", false),
    ("post", "/api/v1/roles", true),
    ("get", "/api/v1/roles/{code}", false),
    ("patch", "/api/v1/roles/{code}", true),
    ("delete", "/api/v1/roles/{code}", false),
    ("get", "/api/v1/groups", false),
    ("post", "/api/v1/groups", true),
    ("get", "/api/v1/groups/{code}", false),
    ("patch", "/api/v1/groups/{code}", true),
    ("delete", "/api/v1/groups/{code}", false),
    ("get", "/api/v1/categories", false),
    ("post", "/api/v1/categories", true),
    ("get", "/api/v1/categories/{code}", false),
    ("patch", "/api/v1/categories/{code}", true),
    ("delete", "/api/v1/categories/{code}", false),
];

/// The error body each part of the API answers with.
fn error_schema(path: &str) -> &'static str {
    if path.starts_with("/api/oauth/") {
        "#/components/schemas/OAuthError"
    } else if path.starts_with("/api/rest/") {
        "#/components/schemas/RestError"
    } else {
        "#/components/schemas/ApiError"
    }
}

#[tokio::test]
async fn the_spec_covers_every_route_with_its_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::embedded(dir.path(), "alice", Source::Cli)
        .await
        .unwrap();
    let resp = client
        .raw(Method::GET, "/api/openapi.json", None)
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let spec: Value = serde_json::from_slice(&resp.body).unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let paths = spec["paths"].as_object().unwrap();
    // Issue 16: what the description says matches what the server does.
    for list in ["/api/rest/v1/products", "/api/rest/v1/products-uuid"] {
        let params = spec["paths"][list]["get"]["parameters"].as_array().unwrap();
        let param = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{list} has no {name}"))["schema"]
                .clone()
        };
        assert_eq!(param("page")["minimum"], 1, "{list}");
        assert_eq!(param("limit")["minimum"], 1, "{list}");
        assert_eq!(param("limit")["maximum"], 100, "{list}");
        // The `search` description names every property the server filters on.
        let search = params
            .iter()
            .find(|p| p["name"] == "search")
            .and_then(|p| p["description"].as_str())
            .unwrap_or_else(|| panic!("{list} has no search description"));
        for property in [
            "identifier",
            "uuid",
            "categories",
            "enabled",
            "family",
            "groups",
            "parent",
            "created",
            "updated",
        ] {
            assert!(search.contains(property), "{list}: {property}: {search}");
        }
    }
    assert!(
        spec["paths"]["/api/v1/connections/{code}"]["delete"]["responses"]["409"].is_object(),
        "deleting a connection in use answers 409"
    );
    assert!(
        spec["paths"]["/api/v1/session"]["delete"]["responses"]["204"]["description"]
            .as_str()
            .unwrap()
            .contains("unknown or expired"),
        "logout with an unknown token answers 204"
    );
    for (path, schema) in [
        ("/api/oauth/v1/token", "TokenForm"),
        ("/api/oauth/v1/revoke", "RevokeForm"),
    ] {
        for media in ["application/json", "application/x-www-form-urlencoded"] {
            assert_eq!(
                spec["paths"][path]["post"]["requestBody"]["content"][media]["schema"]["$ref"],
                format!("#/components/schemas/{schema}"),
                "{path} {media}"
            );
        }
    }
    let mut described = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            described += 1;
            assert!(
                ROUTES.iter().any(|(m, p, _)| m == method && p == path),
                "the spec names {method} {path}, which is not a known route"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no success"
            );
            let errors: Vec<_> = responses
                .iter()
                .filter(|(s, _)| s.starts_with('4') || s.starts_with('5'))
                .collect();
            if path.starts_with("/api/") && path != "/api/openapi.json" {
                assert!(!errors.is_empty(), "{method} {path}: no error responses");
            }
            for (status, r) in errors {
                let schema = &r["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, error_schema(path), "{method} {path} {status}");
            }
        }
    }
    assert_eq!(described, ROUTES.len(), "every route is described once");
    for (method, path, has_body) in ROUTES {
        let op = &spec["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is missing");
        assert_eq!(
            op["requestBody"].is_object(),
            *has_body,
            "{method} {path} request body"
        );
        // The router serves it: an answer other than "no such endpoint".
        let concrete = path
            .replace("{code}", "nothing")
            .replace("{username}", "nobody")
            .replace("{connection}", "nothing")
            .replace("{identifier}", "nothing");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = client.raw(m, &concrete, None).await.unwrap();
        let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        assert!(
            resp.status != 405 && body["message"] != "no such endpoint",
            "{method} {path} is described but not served"
        );
    }
    for schema in [
        "Connection",
        "NewConnection",
        "ConnectionPatch",
        "CreatedConnection",
        "Application",
        "ApplicationAuth",
        "AuthKind",
        "TestResult",
        "ApiError",
        "SessionToken",
        "CredentialsInfo",
        "TokenResponse",
        "OAuthError",
        "RestError",
        "ConnectionMonitoring",
        "MonitoringOverview",
        "EventCounts",
        "DayCounts",
        "Role",
        "Group",
        "Category",
        "Product",
        "ProductPage",
        "RestValidationError",
        "TokenForm",
        "RevokeForm",
        "BatchLine",
        "Probe",
    ] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    assert!(spec["components"]["securitySchemes"]["session"].is_object());
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}
