"""Hazardous materials: raw primitives without the safety of the recipes.

Use them only to build a protocol you have reviewed; prefer ``mpc.sm4.SM4GCM`` and the other
recipes everywhere else.
"""
