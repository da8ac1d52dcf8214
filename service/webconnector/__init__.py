"""The Web Connector side: what the QuickBooks Web Connector talks to.

* :mod:`service.webconnector.soap`: the spyne SOAP service, a thin translation of Intuit's WSDL
  onto the exchange.
* :mod:`service.webconnector.exchange`: one method per Web Connector call, each one database
  transaction (tickets, claims, requests and answers).
* :mod:`service.webconnector.sessions`: Web Connector users (Argon2id) and sessions (tickets).
* :mod:`service.webconnector.throttle`: failed logins counted per user name at an address and
  per address; lockouts.
* :mod:`service.webconnector.qwc_file`: the ``.qwc`` file an administrator loads into the Web
  Connector.
"""

from __future__ import annotations
