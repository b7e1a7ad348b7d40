"""A SOAP answer's many items read element by element, with zeep's own types.

zeep reads an answer generically: every element of every item is matched against the schema's
sequence and built into a typed object, which `serialize_object` then copies into a dict. For
the hotline's pages of a hundred flat work orders that was most of the night's staging (about
200 µs of a core per order at `large`). `DetachedItems` is a zeep plugin that takes the items
out of each answer as zeep receives it: zeep still parses, checks for a Fault and reads the
rest of the answer, and `ItemReader` reads each item with the element types zeep compiled from
the WSDL (`pythonvalue`, as zeep's simple elements do). An item in any other shape than one
element per field, each at most once and in the schema's order, with no `xsi:type` (zeep's
sequence matching would read it differently), is read by zeep itself, so every answer reads
exactly as zeep reads it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import zeep
from lxml import etree
from zeep.helpers import serialize_object
from zeep.xsd.types.simple import AnySimpleType

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
log = logging.getLogger(__name__)


class DetachedItems(zeep.Plugin):
    """Takes the items at `path` (local names below the answer's element) out of every
    answer zeep receives, for this thread's caller to read (`taken`)."""

    def __init__(self, path: Sequence[str]) -> None:
        self.path = tuple(path)
        self._local = threading.local()

    def ingress(self, envelope, http_headers, operation):
        self._local.items = _detach(envelope, self.path)
        return envelope, http_headers

    def taken(self) -> list:
        items, self._local.items = getattr(self._local, "items", []), []
        return items


def _detach(envelope, path: tuple[str, ...]) -> list:
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    node = _first_element(body) if body is not None else None
    for name in path[:-1]:
        if node is None:
            return []
        node = next((c for c in _elements(node) if etree.QName(c).localname == name), None)
    if node is None:
        return []
    items = [c for c in _elements(node) if etree.QName(c).localname == path[-1]]
    if items:
        # moved under an element declaring every namespace in scope where they were: a
        # QName in an attribute's value (`xsi:type="xsd:string"`) still resolves
        held = etree.Element("held", nsmap=node.nsmap)
        held.extend(items)
    return items


def _elements(node) -> list:
    return [c for c in node if isinstance(c.tag, str)]  # not comments


def _first_element(node):
    return next(iter(_elements(node)), None)


class ItemReader:
    """Reads an item element into the dict `serialize_object` makes of zeep's reading."""

    def __init__(self, client: zeep.Client, operation: str, path: Sequence[str]) -> None:
        self.schema = client.wsdl.types
        element = client.service._binding.get(operation).output.body
        for name in path:
            element = dict(element.type.elements)[name]
        self.element = element
        fields = [(name, e) for name, e in element.type.elements]
        simple = all(
            isinstance(e, zeep.xsd.Element)
            and isinstance(e.type, AnySimpleType)
            and not e.accepts_multiple
            for _, e in fields
        )
        self.names = [name for name, _ in fields]
        # tag -> (its place in the sequence, its name, its type); None: zeep reads every item
        self.fields = (
            {e.qname.text: (i, name, e.type) for i, (name, e) in enumerate(fields)}
            if simple
            else None
        )

    def read(self, item) -> dict | None:
        children = _elements(item)
        if self.fields is None or XSI_TYPE in item.attrib or not children:
            return self._by_zeep(item)  # zeep reads an empty item as None
        values = dict.fromkeys(self.names)
        last = -1
        for child in children:
            field = self.fields.get(child.tag)
            if field is None or field[0] <= last or XSI_TYPE in child.attrib:
                return self._by_zeep(item)  # not the sequence's shape
            last, name, kind = field
            if child.text is not None:
                try:
                    values[name] = kind.pythonvalue(child.text)
                except (TypeError, ValueError):  # as zeep does: logged, and read as None
                    log.exception("Error during xml -> python translation")
        return values

    def _by_zeep(self, item) -> dict | None:
        return serialize_object(self.element.parse(item, self.schema, allow_none=True), dict)
