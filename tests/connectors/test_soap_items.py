"""A SOAP answer's items read element by element (`connectors.core.soap_items`) read exactly as
zeep reads the whole answer: for the flat items of the contract's shape by zeep's element
types, and for any other shape (out of order, repeated, unknown, `xsi:type`) by zeep itself."""

from __future__ import annotations

import re

import pytest
import requests
import zeep
from zeep.exceptions import Error as ZeepError
from zeep.helpers import serialize_object

from connectors.core import soap_items
from connectors.core.formats import dig
from connectors.core.soap import _document
from departments.hotline.wsdl import NAMESPACE, OPERATION, WSDL_PATH

ITEMS = ("orders", "order")
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
FULL = (
    "<orderNo>GD2026112300001</orderNo><acceptedAt>2026-11-23 08:00:00</acceptedAt>"
    "<channel>电话</channel><category>投诉</category><topic>城建-施工扰民</topic>"
    "<title><![CDATA[夜间施工 <噪声>]]></title><content>  长江路 工地  </content>"
    "<address>长江路88号</address><regionCode></regionCode><longitude>120.61</longitude>"
    '<latitude xsi:nil="true"/><handlingUnit>住建局</handlingUnit><status>已办结</status>'
    "<closedAt/><satisfaction>满意</satisfaction><callerName>张**</callerName>"
    "<callerPhone>138****0000</callerPhone><updatedAt>2026-11-23 09:00:00</updatedAt>"
)
SHAPES = {
    "every field": (FULL, True),
    "some fields only": ("<orderNo>A1</orderNo><updatedAt>2026-11-23 09:00:00</updatedAt>", True),
    "no field at all": ("", False),
    "a comment between fields": ("<orderNo>A1</orderNo><!-- x --><title>t</title>", True),
    "fields out of order": ("<title>t</title><orderNo>A1</orderNo>", False),
    "a field twice": ("<orderNo>A1</orderNo><orderNo>A2</orderNo>", False),
    "a field the schema lacks": ("<orderNo>A1</orderNo><colour>red</colour>", False),
    "a field typed by xsi:type": ('<orderNo xsi:type="xsd:string">A1</orderNo>', False),
}


def _answer(*items: str) -> requests.Response:
    orders = "".join(f"<o:order>{_qualified(i)}</o:order>" for i in items)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" {XSI} '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:o="{NAMESPACE}"><soap:Body>'
        f"<o:QueryWorkOrdersResponse><o:total>{len(items)}</o:total><o:pageNo>1</o:pageNo>"
        f"<o:orders>{orders}</o:orders></o:QueryWorkOrdersResponse></soap:Body></soap:Envelope>"
    )
    response = requests.Response()
    response.status_code, response._content = 200, body.encode()
    response.headers["Content-Type"] = "text/xml; charset=utf-8"
    return response


def _qualified(xml: str) -> str:
    """Every element of an item in the service's namespace (elementFormDefault="qualified")."""
    return re.sub(r"<(/?)(\w+)", r"<\1o:\2", xml)


def _by_zeep_alone(response) -> list[dict]:
    client = zeep.Client(wsdl=_document(WSDL_PATH))
    binding = client.service._binding
    reply = binding.process_reply(client, binding.get(OPERATION), response)
    return list(dig(serialize_object(reply, dict), ITEMS) or [])


def _item_by_item(response) -> list[dict]:
    items = soap_items.DetachedItems(ITEMS)
    client = zeep.Client(wsdl=_document(WSDL_PATH), plugins=[items])
    binding = client.service._binding
    reply = binding.process_reply(client, binding.get(OPERATION), response)
    assert not dig(serialize_object(reply, dict), ITEMS)  # taken out before zeep read them
    reader = soap_items.ItemReader(client, OPERATION, ITEMS)
    return [reader.read(item) for item in items.taken()]


@pytest.mark.parametrize("shape", SHAPES)
def test_given_an_item_of_a_shape_then_it_reads_as_zeep_reads_it(shape, monkeypatch):
    xml, fast = SHAPES[shape]
    by_zeep = []
    real = soap_items.ItemReader._by_zeep
    monkeypatch.setattr(
        soap_items.ItemReader, "_by_zeep", lambda self, item: by_zeep.append(1) or real(self, item)
    )
    try:
        expected = _by_zeep_alone(_answer(xml, FULL))
    except ZeepError as exc:  # zeep refuses the answer: so does the reading item by item
        with pytest.raises(type(exc)):
            _item_by_item(_answer(xml, FULL))
        return
    assert _item_by_item(_answer(xml, FULL)) == expected
    assert len(by_zeep) == (0 if fast else 1)  # zeep itself reads only the odd shapes


def test_given_no_items_then_none_are_read():
    assert _item_by_item(_answer()) == _by_zeep_alone(_answer()) == []
