import json

from identity_api import IdentityApi


async def test_probe(api: IdentityApi, identity_app) -> None:
    doc = identity_app.openapi()
    for path, ops in doc["paths"].items():
        for m, op in ops.items():
            print(
                m.upper(),
                path,
                op.get("security"),
                json.dumps(op.get("requestBody"))[:200],
                [(p["name"], p["in"], p["schema"]) for p in op.get("parameters", [])],
            )
    print(json.dumps(doc["components"]["schemas"]["OrganizationUpdate"], indent=1))
    print(json.dumps(doc["components"]["schemas"]["ClientCreate"], indent=1))
    print(json.dumps(doc["components"]["schemas"]["InvitationCreate"], indent=1))
    print(doc["components"].get("securitySchemes"))
