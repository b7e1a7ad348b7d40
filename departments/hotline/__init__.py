"""12345 citizen hotline (contracts/departments/hotline.md): SOAP 1.1 with WS-Security,
24-hour windows × page numbers, personal data masked before anything is kept."""

from __future__ import annotations

from departments.declare import Department
from departments.hotline.connector import connector
from departments.hotline.figures import CONSTRUCTION, backlog, complaints, orders_table
from departments.hotline.records import WORK_ORDER
from departments.hotline.simulator import HotlineServer
from departments.hotline.world import TABLE, tables
from simulators.declare import Served, Simulator
from transforms.figures import Figure, Flag, Published
from transforms.links import SiteFact, SiteMention

# what the other departments' linked records say of each project's site
SITES = (
    SiteFact("project", district="szqh", start="jhkgsj", end="jhjgsj", name="xmmc"),
    SiteFact(
        "permit",
        district="regionCode",
        start="issueDate",
        name="projectName",
        contractor="contractor",
    ),
    SiteFact("land_use_permit", district="regionCode", location="location", geometry="geometry"),
    SiteFact(
        "works_permit",
        district="regionCode",
        location="location",
        geometry="geometry",
        footprint=True,
    ),  # footprints: inside the parcel, and known when the parcel is not
)

department = Department(
    connector=connector,
    records=(WORK_ORDER,),
    links={
        "work_order": (
            SiteMention(
                text=("title", "content", "address"),
                region="regionCode",
                when="acceptedAt",
                topic="topic",
                topic_prefix=CONSTRUCTION,
                longitude="longitude",
                latitude="latitude",
                facts=SITES,
            ),
        )
    },
    simulator=Simulator(
        server=HotlineServer,
        credentials=("login", "password"),
        served=(Served("work_orders", TABLE, "work_order", version="updatedAt"),),
        tables=tables,
    ),
    figures=(
        Figure(
            ("complaint_count", "open_complaint_count", "satisfaction_rate"),
            ("work_order",),
            "linked `投诉`/`举报` orders, duplicates (`【重复工单】`) excluded; of those, "
            "`已受理` or `办理中`; 100 × (`满意` + `基本满意`) ÷ linked orders with a "
            "`satisfaction` (null when none)",
            complaints,
        ),
    ),
    flags=(
        Flag(
            "COMPLAINT_BACKLOG",
            ("work_order",),
            "a linked `投诉` or `举报` order accepted more than 15 days before `as_of_date` is "
            "still `已受理` or `办理中`",
            backlog,
        ),
    ),
    tables=(
        Published(
            "work_order",
            ("work_order",),
            "every valid, live order under `城乡建设/建筑施工/`, linked or not, without its "
            "personal data",
            orders_table,
        ),
    ),
    since="1.1",
)
