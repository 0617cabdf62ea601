"""The base of every API model and record.

Model modules do without `from __future__ import annotations`: pydantic would evaluate every field's
annotation from its string at class creation (a compile each), about 5 ms of a heavy function's cold
start. A method returning its own class says `Self`.
"""

import pydantic


class BaseModel(pydantic.BaseModel):
    """pydantic's BaseModel, building its validators and serializers on first use rather than when its
    module is imported: a function imports every model of the modules it uses, a request needs a few,
    and building them all was a good part of each cold start."""

    model_config = pydantic.ConfigDict(defer_build=True)
