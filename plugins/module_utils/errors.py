# -*- coding: utf-8 -*-
# Copyright: vectorops.milvus contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Exceptions raised by the engine. Every message is written for the person running the play."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class VectoropsError(Exception):
    """Base class: ``str(exc)`` is the complete, human-readable message."""

    def __init__(self, message, **details):
        super(VectoropsError, self).__init__(message)
        self.message = message
        self.details = details


class InputError(VectoropsError):
    """The task's parameters are invalid or contradict each other."""


class MissingLibraryError(VectoropsError):
    """A Python library the task needs is not installed where the module runs."""

    def __init__(self, library, import_error):
        super(MissingLibraryError, self).__init__(
            "the Python library %s is required but could not be imported: %s" % (library, import_error),
            library=library)
        self.library = library
        self.import_error = import_error


class MilvusConnectionError(VectoropsError):
    """Milvus cannot be reached, or refused the credentials."""


class MilvusOperationError(VectoropsError):
    """A Milvus call failed after the connection was established."""


class NotFoundError(VectoropsError):
    """A named database, collection, backup or object does not exist."""


class StorageError(VectoropsError):
    """Object storage is unreachable, refused the credentials, or lacks the bucket."""


class ConsistencyError(VectoropsError):
    """The data could not be captured or restored consistently; nothing was marked complete."""
