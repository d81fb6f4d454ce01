"""Serving pages to browsers on the local network: where flowpose keeps its files, the
session token, a self-signed TLS certificate, the machine's LAN addresses, and a QR code of
a URL for the terminal. The nodes that serve pages (PhoneCamera, BrowserView) build on these.
"""
