"""The public view of an organization's link: texts per language with fallback, the organization's
profile (name, logo, privacy notice), the owner and the coalition, and the hosted page's address."""

from __future__ import annotations

import uuid

from campaigns_world import CampaignsWorld, problem, supporter

from campaigns.api.embedding import frame_ancestors
from eventually import eventually

FRENCH = {
    "title": "Pétition pour un diagnostic plus rapide",
    "text": "Financez le dépistage néonatal de l'amyotrophie spinale dans chaque région.",
    "consent_texts": {
        "contact_by_organization": "J'accepte que l'organisation me contacte par e-mail au sujet de cette campagne."
    },
}


async def test_a_link_shows_the_texts_in_the_language_asked_and_falls_back_field_by_field(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    campaign = await cw.launched(owner, translations={"fr": FRENCH})
    ref = await cw.link_of(campaign["id"], owner)
    english = await cw.public(ref)

    response = await cw.campaigns.get(f"/v1/public/links/{ref}", params={"lang": "fr-BE"})
    assert response.status_code == 200, response.text
    french = response.json()

    assert (french["language"], english["language"]) == ("fr", "en")
    assert french["title"] == FRENCH["title"]
    assert french["details"]["text"] == FRENCH["text"]
    assert french["summary"] == english["summary"]  # not translated: the default language's
    assert french["details"]["target"] == english["details"]["target"]
    assert french["languages"] == ["en", "fr"]
    fr_consent = {c["purpose"]: c for c in french["consent_texts"]}["contact_by_organization"]
    en_consent = {c["purpose"]: c for c in english["consent_texts"]}["contact_by_organization"]
    assert fr_consent["text"] == FRENCH["consent_texts"]["contact_by_organization"]
    assert fr_consent["version"] != en_consent["version"]  # each language's text has its own version

    german = (await cw.campaigns.get(f"/v1/public/links/{ref}", params={"lang": "de"})).json()
    assert german["language"] == "en"
    assert german["title"] == english["title"]
    problem(await cw.campaigns.get(f"/v1/public/links/{ref}", params={"lang": "<script>"}), 422)


async def test_a_supporter_agrees_to_the_consent_text_of_their_language(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    campaign = await cw.launched(owner, translations={"fr": FRENCH})
    ref = await cw.link_of(campaign["id"], owner)
    french = (await cw.campaigns.get(f"/v1/public/links/{ref}", params={"lang": "fr"})).json()
    version = french["consent_texts"][0]["version"]

    signed = await cw.act(ref, consents={"contact_by_organization": version}, language="fr")
    assert signed.status_code == 201, signed.text
    stale = await cw.act(ref, consents={"contact_by_organization": version}, language="en")
    assert problem(stale, 409)["current_version"] != version


async def test_translations_are_checked_against_the_campaigns_kind_and_languages(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    body = {
        "organization_id": owner.id,
        "kind": "petition",
        "title": "A petition",
        "details": {"text": "Act now.", "target": {"name": "Minister"}},
        "goal": {"metric": "unique_supporters", "target": 10, "deadline": "2099-01-01T00:00:00Z"},
    }
    for translations, status in (
        ({"fr": {"prompt": "Racontez"}}, 422),  # a petition has no prompt
        ({"en": {"title": "Again"}}, 422),  # the default language is the campaign's own fields
        ({"xx": {"title": "?"}}, 422),
        ({"de": {"consent_texts": {"publish_story": "Ich bin einverstanden, dass..."}}}, 422),
    ):
        response = await cw.campaigns.post(
            "/v1/campaigns", json={**body, "translations": translations}, headers=owner.headers
        )
        problem(response, status)
    created = await cw.campaigns.post("/v1/campaigns", json=body, headers=owner.headers)
    assert created.status_code == 201, created.text
    assert created.json()["double_opt_in"] is True  # on by default for petitions
    assert created.json()["default_language"] == "en"


async def test_a_link_names_its_organization_with_its_profile_and_the_hosted_page(cw: CampaignsWorld) -> None:
    owner = await cw.org("owner")
    member = await cw.org("member")
    coalition = await cw.shared_coalition(owner, member)
    profile = {
        "logo_url": "https://member.example.org/logo.png",
        "privacy_notice_url": "https://member.example.org/privacy",
        "embed_origins": ["https://Member.example.org:443", "https://blog.member.example.org"],
    }
    response = await cw.identity.http.patch(
        f"/v1/organizations/{member.id}", json=profile, headers=member.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["embed_origins"] == [
        "https://blog.member.example.org",
        "https://member.example.org",
    ]
    campaign = await cw.launched(owner, coalition_id=coalition["id"])
    ref = await cw.adopt(campaign["id"], member)

    async def projected() -> bool:
        return (await cw.public(ref))["organization"]["logo_url"] == profile["logo_url"]

    await eventually(projected, within=60, message="the organization's profile in the campaigns service")
    page = await cw.public(ref)
    assert page["organization"]["id"] == member.id
    assert page["organization"]["name"] == "Member Association"
    assert page["organization"]["privacy_notice_url"] == profile["privacy_notice_url"]
    assert page["owner"] == {"id": owner.id, "name": "Owner Association"}
    assert page["coalition"]["id"] == coalition["id"]
    assert page["coalition"]["name"]
    links = (await cw.get(f"/v1/campaigns/{campaign['id']}/links", member)).json()
    mine = next(link for link in links if link["ref"] == ref)
    assert mine["action_url"].endswith(f"/p/{ref}")
    assert mine["api_url"].endswith(f"/v1/public/links/{ref}")


async def test_an_organization_profile_refuses_what_is_not_an_https_origin_or_address(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    for bad in (
        {"embed_origins": ["http://example.org"]},
        {"embed_origins": ["https://example.org/path"]},
        {"embed_origins": ["javascript:alert(1)"]},
        {"embed_origins": [f"https://{uuid.uuid4().hex}.example.org" for _ in range(21)]},
        {"logo_url": "http://example.org/logo.png"},
        {"privacy_notice_url": "ftp://example.org/privacy"},
    ):
        response = await cw.identity.http.patch(
            f"/v1/organizations/{owner.id}", json=bad, headers=owner.headers
        )
        problem(response, 422)


async def test_only_the_organizations_embed_origins_may_call_its_links_api_from_a_browser(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    allowed = "https://owner.example.org"
    response = await cw.identity.http.patch(
        f"/v1/organizations/{owner.id}", json={"embed_origins": [allowed]}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    ref = await cw.link_of((await cw.launched(owner))["id"], owner)

    async def projected() -> bool:
        return allowed in await cw.service.embed_origins(ref)

    await eventually(projected, within=60, message="the embed origins in the campaigns service")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = await cw.campaigns.options(
        f"/v1/public/links/{ref}/signatures", headers={"Origin": allowed, **preflight}
    )
    assert ok.status_code == 204, ok.text
    assert ok.headers["access-control-allow-origin"] == allowed
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "content-type" in ok.headers["access-control-allow-headers"].lower()
    signed = await cw.campaigns.post(
        f"/v1/public/links/{ref}/signatures", json={"supporter": supporter()}, headers={"Origin": allowed}
    )
    assert signed.status_code == 201, signed.text
    assert signed.headers["access-control-allow-origin"] == allowed

    stranger = "https://elsewhere.example.com"
    refused = await cw.campaigns.options(
        f"/v1/public/links/{ref}/signatures", headers={"Origin": stranger, **preflight}
    )
    problem(refused, 403)
    assert "access-control-allow-origin" not in refused.headers
    read = await cw.campaigns.get(f"/v1/public/links/{ref}", headers={"Origin": stranger})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers
    other_link = await cw.campaigns.options(
        "/v1/public/links/unknown-ref/signatures", headers={"Origin": allowed, **preflight}
    )
    problem(other_link, 403)
    challenge = await cw.campaigns.get("/v1/public/challenge", headers={"Origin": stranger})
    assert challenge.headers["access-control-allow-origin"] == "*"
    assert frame_ancestors(await cw.service.embed_origins(ref)) == f"frame-ancestors 'self' {allowed}"


async def test_translations_are_replaced_by_an_edit_and_follow_a_new_default_language(
    cw: CampaignsWorld,
) -> None:
    owner = await cw.org("owner")
    campaign = await cw.campaign(owner, "letter", translations={"de": {"subject": "Erstattung in 180 Tagen"}})
    url = f"/v1/campaigns/{campaign['id']}"
    assert campaign["translations"]["de"]["details"] == {"subject": "Erstattung in 180 Tagen"}

    edited = await cw.campaigns.patch(
        url,
        json={
            "translations": {
                "pt": {
                    "ask": "Vote pela emenda.",
                    "consent_texts": {"contact_by_organization": "Aceito ser contactado."},
                }
            }
        },
        headers=owner.headers,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert set(body["translations"]) == {"pt"}
    assert body["translations"]["pt"]["consent_texts"][0]["text"] == "Aceito ser contactado."
    clash = await cw.campaigns.patch(url, json={"default_language": "pt"}, headers=owner.headers)
    problem(clash, 422)  # Portuguese would be both the campaign's own texts and a translation
    moved = await cw.campaigns.patch(
        url, json={"default_language": "fr", "double_opt_in": False}, headers=owner.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["default_language"] == "fr"
    assert moved.json()["double_opt_in"] is False
    assert set(moved.json()["translations"]) == {"pt"}
    problem(
        await cw.campaigns.patch(url, json={"translations": {"pt": {"text": "x"}}}, headers=owner.headers),
        422,
    )
