"""Art. 6 evidence as a page: the portal's report and the file ``leerid sp evidence`` writes."""

from __future__ import annotations

from leerid.sp.kit.evidence import collect
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.portal.templating import render


def evidence_html(provider: ServiceProvider) -> str:
    """The evidence report as one standalone HTML file (no links back into the portal)."""
    return render(
        "evidence.html", site=provider.settings.name, standalone=True, **collect(provider)
    )
