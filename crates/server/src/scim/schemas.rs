//! The discovery documents (RFC 7643 §5–7): `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`, describing exactly what this server supports: PATCH, filtering (at most
//! [`MAX_RESULTS`] per page), sorting and ETags; no bulk, no password change.

use serde_json::{Value, json};

/// The core User schema.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The Enterprise User extension.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// lpgate's extension: what LastPass knows of a user beyond the core schema.
pub const LASTPASS: &str = "urn:lpgate:params:scim:schemas:extension:lastpass:2.0:User";
/// List responses.
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Most resources one list page returns (`count` is capped to it).
pub const MAX_RESULTS: usize = 1000;

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://example.invalid/lpgate/docs/scim.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token made by `lpgate scim token create --account NAME`, sent as Authorization: Bearer lpg_…",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

/// The resource types: User (with the Enterprise and LastPass extensions) and Group.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A LastPass user of the account",
            "schema": USER,
            "schemaExtensions": [
                {"schema": ENTERPRISE, "required": false},
                {"schema": LASTPASS, "required": false}
            ],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")}
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A LastPass group of the account (or one kept by lpgate until it has members)",
            "schema": GROUP,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")}
        }),
    ]
}

/// One attribute definition.
fn a(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none"
    })
}

fn with(mut v: Value, changes: Value) -> Value {
    if let (Some(o), Some(c)) = (v.as_object_mut(), changes.as_object()) {
        for (k, x) in c {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}

fn multi(name: &str, description: &str, subs: Vec<Value>) -> Value {
    with(
        a(name, "complex", description),
        json!({"multiValued": true, "subAttributes": subs}),
    )
}

fn typed_multi(name: &str, description: &str) -> Value {
    multi(
        name,
        description,
        vec![
            a("value", "string", "The value"),
            a("display", "string", "A label"),
            a("type", "string", "work, home, other…"),
            a("primary", "boolean", "The primary value"),
        ],
    )
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")}
    })
}

/// Every schema this server uses.
pub fn schemas(base: &str) -> Vec<Value> {
    let read_only = json!({"mutability": "readOnly"});
    let user = vec![
        with(
            a(
                "userName",
                "string",
                "The user's email: LastPass's username. It cannot change (LastPass does not rename users).",
            ),
            json!({"required": true, "uniqueness": "server", "mutability": "immutable"}),
        ),
        with(
            a(
                "name",
                "complex",
                "The parts of the name; LastPass keeps the full name only",
            ),
            json!({"subAttributes": [
                a("formatted", "string", "The full name"),
                a("familyName", "string", "Family name"),
                a("givenName", "string", "Given name"),
                a("middleName", "string", "Middle name"),
                a("honorificPrefix", "string", "Prefix"),
                a("honorificSuffix", "string", "Suffix"),
            ]}),
        ),
        a("displayName", "string", "LastPass's full name"),
        a("nickName", "string", "Kept by lpgate"),
        a("profileUrl", "reference", "Kept by lpgate"),
        a("title", "string", "Kept by lpgate"),
        a("userType", "string", "Kept by lpgate"),
        a("preferredLanguage", "string", "Kept by lpgate"),
        a("locale", "string", "Kept by lpgate"),
        a("timezone", "string", "Kept by lpgate"),
        a(
            "active",
            "boolean",
            "false suspends the user in LastPass (deluser 0); true enables them",
        ),
        with(
            a(
                "password",
                "string",
                "Not supported: LastPass users set their own master password",
            ),
            json!({"mutability": "writeOnly", "returned": "never"}),
        ),
        typed_multi("emails", "Email addresses; the primary one is the userName"),
        typed_multi("phoneNumbers", "Kept by lpgate"),
        typed_multi("ims", "Kept by lpgate"),
        typed_multi("photos", "Kept by lpgate"),
        multi(
            "addresses",
            "Kept by lpgate",
            vec![
                a("formatted", "string", "Full address"),
                a("streetAddress", "string", "Street"),
                a("locality", "string", "City"),
                a("region", "string", "Region"),
                a("postalCode", "string", "Postal code"),
                a("country", "string", "Country"),
                a("type", "string", "work, home, other"),
                a("primary", "boolean", "The primary address"),
            ],
        ),
        with(
            multi(
                "groups",
                "LastPass groups of the user; change them through /Groups",
                vec![
                    with(a("value", "string", "Group id"), read_only.clone()),
                    with(a("$ref", "reference", "The group"), read_only.clone()),
                    with(a("display", "string", "Group name"), read_only.clone()),
                ],
            ),
            read_only.clone(),
        ),
        typed_multi("entitlements", "Kept by lpgate"),
        typed_multi("roles", "Kept by lpgate"),
        typed_multi("x509Certificates", "Kept by lpgate"),
    ];
    let enterprise = vec![
        a(
            "employeeNumber",
            "string",
            "Sent to LastPass as the attribute EmployeeNumber",
        ),
        a(
            "costCenter",
            "string",
            "Sent to LastPass as the attribute CostCenter",
        ),
        a(
            "organization",
            "string",
            "Sent to LastPass as the attribute Organization",
        ),
        a(
            "division",
            "string",
            "Sent to LastPass as the attribute Division",
        ),
        a(
            "department",
            "string",
            "Sent to LastPass as the attribute Department",
        ),
        with(
            a(
                "manager",
                "complex",
                "Sent to LastPass as the attribute Manager (its displayName or value)",
            ),
            json!({"subAttributes": [
                a("value", "string", "The manager's id"),
                a("$ref", "reference", "The manager"),
                with(a("displayName", "string", "The manager's name"), read_only.clone()),
            ]}),
        ),
    ];
    let lastpass = vec![
        a(
            "duoUsername",
            "string",
            "Duo Security username (updateuser)",
        ),
        with(
            a(
                "securidUsername",
                "string",
                "RSA SecurID username (updateuser); LastPass does not report it back, lpgate keeps what was sent",
            ),
            json!({"returned": "default"}),
        ),
        with(
            a(
                "status",
                "string",
                "active, staged (invited, never logged in) or suspended",
            ),
            read_only.clone(),
        ),
        with(a("admin", "boolean", "A LastPass admin"), read_only.clone()),
        with(a("lastLogin", "dateTime", "Last login"), read_only.clone()),
    ];
    let group = vec![
        with(
            a(
                "displayName",
                "string",
                "The LastPass group name. It cannot change (LastPass has no group rename).",
            ),
            json!({"required": true, "uniqueness": "server", "mutability": "immutable"}),
        ),
        multi(
            "members",
            "Users in the group (batchchangegrp)",
            vec![
                with(
                    a("value", "string", "User id"),
                    json!({"mutability": "immutable", "caseExact": true}),
                ),
                with(
                    a("$ref", "reference", "The user"),
                    json!({"mutability": "immutable"}),
                ),
                with(
                    a("display", "string", "The user's email"),
                    read_only.clone(),
                ),
                with(
                    a("type", "string", "User"),
                    json!({"mutability": "immutable"}),
                ),
            ],
        ),
    ];
    vec![
        schema(USER, "User", "A LastPass user", user, base),
        schema(
            ENTERPRISE,
            "EnterpriseUser",
            "Enterprise attributes, sent to LastPass as batchadd attribs",
            enterprise,
            base,
        ),
        schema(
            LASTPASS,
            "LastPassUser",
            "What LastPass knows of a user beyond the core schema",
            lastpass,
            base,
        ),
        schema(GROUP, "Group", "A LastPass group", group, base),
    ]
}
