"""The Python client generated from the served spec, used as a brand would, unmodified.

Usage: clients_smoke.py BASE_URL KEY  (with the generated package `trcker_client` importable)

Creates an offer and a partner, clicks the tracking link (without following the redirect:
the click id is in the Location's `click_id`), posts a conversion for that click, then reads
the click, the conversions and today's report back and checks that every value round-trips.
"""

import sys
from urllib.parse import parse_qs, urlsplit

from trcker_client import AuthenticatedClient
from trcker_client.api.clicks import get_click, list_clicks
from trcker_client.api.conversions import create_conversion, list_conversions
from trcker_client.api.offers import create_offer
from trcker_client.api.partners import create_partner
from trcker_client.api.reports import get_report
from trcker_client.models import (
    Click,
    ClickList,
    Conversion,
    ConversionList,
    ConversionStatus,
    CreateConversion,
    CreateOffer,
    CreatePartner,
    Offer,
    OfferStatus,
    Partner,
    PartnerStatus,
    PayoutType,
    Report,
)


def ok(resp, status, model):
    """The parsed body of a `status` answer of type `model`, or a failure naming the body."""
    assert resp.status_code == status, (resp.status_code, resp.content)
    assert isinstance(resp.parsed, model), (type(resp.parsed), resp.content)
    return resp.parsed


def main(base: str, key: str) -> None:
    client = AuthenticatedClient(base_url=f"{base}/api/v1", token=key)

    offer = ok(
        create_offer.sync_detailed(
            client=client,
            body=CreateOffer(
                name="Smoke offer",
                destination_url="https://shop.example.com/land?c={click_id}&s={sub1}",
                payout=2.5,
                payout_type=PayoutType.CPA,
                currency="EUR",
                status=OfferStatus.ACTIVE,
            ),
        ),
        201,
        Offer,
    )
    assert (offer.name, offer.payout, offer.currency) == ("Smoke offer", 2.5, "EUR")
    assert (offer.payout_type, offer.status) == (PayoutType.CPA, OfferStatus.ACTIVE)

    partner = ok(
        create_partner.sync_detailed(
            client=client,
            body=CreatePartner(
                name="Smoke partner", email="smoke@example.com", status=PartnerStatus.ACTIVE
            ),
        ),
        201,
        Partner,
    )
    assert (partner.name, partner.email, partner.status) == (
        "Smoke partner",
        "smoke@example.com",
        PartnerStatus.ACTIVE,
    )

    # The tracking link, as the offer gives it; the redirect is not followed.
    link = offer.tracking_url.replace("{partner_id}", str(partner.id))
    assert urlsplit(link).path == f"/c/{offer.id}/{partner.id}", link
    visit = client.get_httpx_client().get(
        f"{link}?sub1=smoke",
        headers={"User-Agent": "clients-smoke/1", "Authorization": ""},
        follow_redirects=False,
    )
    assert visit.status_code == 302, (visit.status_code, visit.text)
    location = visit.headers["location"]
    query = parse_qs(urlsplit(location).query)
    click_id = query["c"][0]
    assert query["s"] == ["smoke"], location

    click = ok(get_click.sync_detailed(id=click_id, client=client), 200, Click)
    assert (click.id, click.offer_id, click.partner_id) == (click_id, offer.id, partner.id)
    assert (click.sub1, click.user_agent, click.unique) == ("smoke", "clients-smoke/1", True)
    clicks = ok(list_clicks.sync_detailed(client=client, offer_id=offer.id), 200, ClickList)
    assert [c.id for c in clicks.data] == [click_id] and clicks.next_cursor is None

    conversion = ok(
        create_conversion.sync_detailed(
            client=client,
            body=CreateConversion(
                click_id=click_id,
                amount=40.25,
                event="purchase",
                transaction_id="smoke-1",
                status=ConversionStatus.APPROVED,
            ),
        ),
        201,
        Conversion,
    )
    assert (conversion.offer_id, conversion.partner_id, conversion.click_id) == (
        offer.id,
        partner.id,
        click_id,
    )
    assert (conversion.amount, conversion.payout, conversion.currency) == (40.25, 2.5, "EUR")
    assert (conversion.event, conversion.transaction_id, conversion.sub1) == (
        "purchase",
        "smoke-1",
        "smoke",
    )
    assert conversion.status == ConversionStatus.APPROVED

    listed = ok(
        list_conversions.sync_detailed(client=client, partner_id=partner.id),
        200,
        ConversionList,
    )
    assert [c.to_dict() for c in listed.data] == [conversion.to_dict()], listed
    assert listed.has_more is False and listed.next_cursor is None

    report = ok(
        get_report.sync_detailed(client=client, group_by="offer,partner", offer_id=offer.id),
        200,
        Report,
    )
    assert len(report.data) == 1, report.to_dict()
    row = report.data[0]
    assert (row.offer_id, row.partner_id, row.currency) == (offer.id, partner.id, "EUR")
    assert (row.clicks, row.unique_clicks, row.conversions) == (1, 1, 1)
    assert (row.revenue, row.payout, row.conversion_rate, row.epc) == (40.25, 2.5, 1.0, 2.5)

    print("clients smoke: offer, partner, click, conversion, list and report round-trip")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
