"""Supporter pages: the hosted and embeddable action pages, the widget, confirmation and own pages."""
