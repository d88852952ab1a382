"""protocols/dov-lars-glce-2024.yaml encodes the signed protocol faithfully, article by article."""

from __future__ import annotations

import datetime as dt

from leerid.protocol import AttributeKey, allowed_scopes, in_force_from
from leerid.protocol.model import Claim, Condition, PartyRole
from tests.protocol.helpers import normalise, seed, seed_text


def _seed_texts() -> list[tuple[str, str]]:
    """Every text of the file that is quoted from the protocol, with where it sits."""
    p = seed()
    texts: list[tuple[str, str]] = [
        ("title", p.title),
        ("subtitle", p.subtitle or ""),
        ("legal_frame.text", p.legal_frame.text),
        ("summary", p.summary),
        ("subject", p.subject),
        ("legal_basis.text", p.legal_basis.text),
        ("purposes.discloser_lead", p.purposes.discloser_lead),
        ("purposes.discloser", p.purposes.discloser),
        ("purposes.recipient_lead", p.purposes.recipient_lead),
        ("purposes.recipient", p.purposes.recipient),
        ("data.special_categories_text", p.data.special_categories_text),
        ("data.request_keys_text", p.data.request_keys_text),
        ("data.necessity", p.data.necessity),
        ("recipients.intro", p.recipients.intro),
        ("recipients.onward_disclosure.text", p.recipients.onward_disclosure.text),
        ("security.intro_processing", p.security.intro_processing),
        ("security.intro_communication", p.security.intro_communication),
    ]
    texts += [(f"preamble[{i}]", t) for i, t in enumerate(p.preamble)]
    texts += [(f"data.intro[{i}]", t) for i, t in enumerate(p.data.intro)]
    texts += [(f"attribute {a.key}", a.description) for a in p.data.attributes]
    texts += [(f"attribute name {a.key}", a.name) for a in p.data.attributes]
    texts += [("retention.text", t) for t in p.data.retention.text]
    texts += [(f"role {r.id}", r.text) for r in p.recipients.roles if r.sees_pupil_data]
    texts += [("communication.text", t) for t in p.communication.text]
    texts += [(f"measure {m.id}", m.text) for m in p.security.measures]
    for name in ("data_quality", "sanction", "breach_notification", "applicable_law"):
        texts += [(name, t) for t in getattr(p, name).text]
    texts += [("entry_into_force", t) for t in p.entry_into_force.text]
    texts += [("end", t) for t in p.end.text]
    return texts


def test_every_quoted_text_is_the_seeds_own_words() -> None:
    source = normalise(seed_text())
    missing = [where for where, text in _seed_texts() if normalise(text) not in source]
    assert missing == []


def test_identity_and_parties() -> None:
    p = seed()
    assert p.id == "dov-lars-glce-2024"
    assert p.date == dt.date(2024, 2, 22) and p.place == "Brussel"
    assert p.legal_frame.article == "artikel 8, §1"
    assert "18 juli 2008" in p.legal_frame.decree
    assert p.parties.discloser.short_name == "DOV"
    assert p.parties.discloser.enterprise_number == "0316.380.841"
    assert p.parties.discloser.establishment_number == "2.199.310.989"
    assert p.parties.recipient.enterprise_number == "0473.721.472"
    assert [r.name for r in p.parties.recipient.representatives] == [
        "Stefan Grielens",
        "Walentina Cools",
        "Lotte Meulewaeter",
        "Griet Mathieu",
    ]
    # Preamble F and G: the two DPO advices.
    assert p.parties.discloser.dpo.advice_date == dt.date(2022, 11, 7)
    assert p.parties.recipient.dpo.advice_date == dt.date(2024, 2, 22)
    assert len(p.preamble) == 7  # A to G


def test_article_2_and_3() -> None:
    p = seed()
    assert p.legal_basis.gdpr_article == "6.1.f"
    assert p.data.special_categories is False  # art. 3: no GDPR art. 9/10 data
    assert [k.value for k in p.data.request_keys] == ["leer_id_uuid", "account_uuid"]
    assert [(a.key, a.claim) for a in p.data.attributes] == [
        (AttributeKey.INSZ, Claim.RRN),
        (AttributeKey.NAAM, Claim.FAMILY_NAME),
        (AttributeKey.VOORNAAM, Claim.GIVEN_NAME),
        (AttributeKey.LEER_ID_UUID, Claim.OV_LEERID_UUID),
        (AttributeKey.ACCOUNT_UUID, Claim.OV_ACCOUNT_UUID),
        (AttributeKey.HISTORIEK_ACCOUNT_UUID, Claim.OV_HISTORIEK_ACCOUNT_UUID),
        (AttributeKey.INSTELLINGSNUMMER, Claim.OV_ORGCODE),
    ]
    insz = p.attribute(AttributeKey.INSZ)
    assert insz is not None and insz.conditions == (Condition.DECRETAL_BASIS,)
    # The seed names no decretal basis of the CLB networks: encoded as absent.
    assert p.decretal_basis.present is False
    assert allowed_scopes(p) == {"openid", "profile", "ov_leerling"}
    retention = p.retention
    assert str(retention.period) == "P3Y" and str(retention.inactive_account_deletion) == "P3Y"
    assert retention.last_login_only is True
    assert retention.no_enrolment.value == "refuse_access"


def test_articles_4_to_11() -> None:
    p = seed()
    assert {r.id for r in p.roles} == {"toegangscontrole", "medewerker", "dpo"}
    # Art. 4: only staff in charge of access control; the second indent is need-to-know.
    assert {r.id for r in p.roles if r.sees_pupil_data} == {"toegangscontrole"}
    assert p.recipients.onward_disclosure.permitted is False
    assert p.recipients.onward_disclosure.forbidden_to_other_service_providers is True
    assert p.communication.periodicity.value == "at_every_login"
    assert p.communication.indefinite is True
    assert [m.id for m in p.security_measures] == [
        "m-dpo",
        "m-sensibilisering",
        "m-vertrouwelijkheid",
        "m-register",
        "m-bewijs",
        "m-verwerkers",
        "m-risico",
        "m-privacylog",
        "m-acm",
    ]
    privacylog = p.security_measure("m-privacylog")
    assert privacylog is not None and privacylog.applies_to == (PartyRole.RECIPIENT,)
    assert p.sanction.unilateral_termination_by is PartyRole.DISCLOSER
    assert p.breach_notification.via == "dpo"
    assert p.applicable_law.law == "Belgisch recht"
    # Art. 11: in force at the later signature: Ann Verhaegen, 25/03/2024 14:40:38 +01:00.
    assert in_force_from(p) == dt.datetime(
        2024, 3, 25, 14, 40, 38, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert p.status_changes == ()


def test_article_7_data_quality() -> None:
    assert seed().data_quality.in_writing is True  # "meldt zij dat onmiddellijk schriftelijk"
    assert seed().data_quality.immediately is True
