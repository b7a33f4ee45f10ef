"""Reports built from what the service knows about a shipment: the supply-chain map, the
reviewer checks and the rebuttal package (PDF and ZIP).

Everything here is a pure function of the small input dataclasses in `model.py`, except the
two renderers that call out to Graphviz's `dot` (supply_map.render) and to WeasyPrint
(package_pdf.render_pdf). The service layer adapts stored rows into the dataclasses.
"""
