"""The FastAPI tutorial's core chapters, ported to covet.

Each section below mirrors one chapter: first steps, path parameters, query parameters, request
bodies, headers and cookies, dependencies, and error handling. Porting is a matter of imports and
decorators: ``FastAPI()`` becomes ``Covet()`` and pydantic models become ``msgspec.Struct``s.
``Path(ge=...)``/``Query(min_length=...)`` work as in FastAPI (covet turns them into ``msgspec.Meta``,
which may also be written directly inside ``Annotated``).

Run it with ``covet run examples/tutorial.py`` and open http://127.0.0.1:8000/docs.
"""

import enum
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import msgspec

from covet import Body, Cookie, Covet, Depends, Header, HTTPException, JSONResponse, Path, Query

app = Covet(
    title="covet tutorial",
    version="1.0.0",
    description="The FastAPI tutorial's first chapters, written for covet.",
)

# Documented error responses, so clients (and schemathesis) know every status an endpoint may send.
# covet's own errors ({"detail": "..."}) are the named component HTTPError in the document.
_DETAIL = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}}


def error_response(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for an ``HTTPException`` with a string ``detail``."""
    return {"description": description, **_DETAIL}


# --- first steps -----------------------------------------------------------------------------------


@app.get("/", tags=["basics"])
async def root() -> dict[str, str]:
    """Say hello."""
    return {"message": "Hello from covet"}


# --- path parameters --------------------------------------------------------------------------------


class ModelName(str, enum.Enum):
    """The models this API knows about; any other name is a 422."""

    alexnet = "alexnet"
    resnet = "resnet"
    lenet = "lenet"


class ModelInfo(msgspec.Struct):
    model_name: ModelName
    message: str


@app.get("/users/me", tags=["users"])
async def read_current_user() -> dict[str, str]:
    """A static path: registered alongside ``/users/{user_id}``, it always wins."""
    return {"user_id": "the current user"}


@app.get("/users/{user_id}", tags=["users"])
async def read_user(user_id: str) -> dict[str, str]:
    """A string path parameter."""
    return {"user_id": user_id}


@app.get("/models/{model_name}", tags=["models"])
async def get_model(model_name: ModelName) -> ModelInfo:
    """An ``Enum`` path parameter: the value must be one of the members."""
    if model_name is ModelName.alexnet:
        return ModelInfo(model_name, "Deep learning FTW!")
    if model_name.value == "lenet":
        return ModelInfo(model_name, "LeCNN all the images")
    return ModelInfo(model_name, "Have some residuals")


@app.get("/files/{file_path:path}", tags=["files"])
async def read_file(file_path: str) -> dict[str, str]:
    """A ``path`` parameter keeps its slashes: ``/files/home/me/notes.txt``."""
    return {"file_path": file_path}


# --- query parameters -------------------------------------------------------------------------------

FAKE_ITEMS_DB = [{"item_name": name} for name in ("Foo", "Bar", "Baz")]


@app.get("/items", tags=["items"])
async def list_items(skip: int = 0, limit: int = 10) -> list[dict[str, str]]:
    """Query parameters with defaults: ``/items?skip=1&limit=1``."""
    return FAKE_ITEMS_DB[skip : skip + limit]


class ItemView(msgspec.Struct, omit_defaults=True):
    item_id: int
    q: str | None = None
    description: str | None = None


@app.get("/items/{item_id}", tags=["items"])
async def read_item(item_id: int, q: str | None = None, short: bool = False) -> ItemView:
    """A typed path parameter, an optional query parameter and a bool flag (``?short=yes``)."""
    view = ItemView(item_id, q)
    if not short:
        view.description = "This is an amazing item that has a long description"
    return view


class OwnedItem(msgspec.Struct, omit_defaults=True):
    item_id: str
    owner_id: int
    needy: str
    q: str | None = None
    description: str | None = None


@app.get("/users/{user_id}/items/{item_id}", tags=["items"])
async def read_user_item(
    user_id: int, item_id: str, needy: str, q: str | None = None, short: bool = False
) -> OwnedItem:
    """Two path parameters and a *required* query parameter, ``needy``."""
    item = OwnedItem(item_id, user_id, needy, q)
    if not short:
        item.description = "This is an amazing item that has a long description"
    return item


SearchText = Annotated[str, msgspec.Meta(min_length=3, max_length=50, pattern="^[a-z ]+$")]


class SearchResult(msgspec.Struct):
    query: str | None
    tags: list[str]
    limit: int
    items: list[dict[str, str]]


@app.get("/search", tags=["items"], summary="Search items")
async def search_items(
    q: Annotated[
        SearchText | None, Query(alias="item-query", description="Lower-case words to look for")
    ] = None,
    tag: Annotated[list[str], Query(description="Repeat to filter by several tags")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SearchResult:
    """Validated query parameters: an alias, string constraints, a list and a bounded number."""
    found = [item for item in FAKE_ITEMS_DB if q is None or q in item["item_name"].lower()]
    return SearchResult(q, tag, limit, found[:limit])


# --- request body -----------------------------------------------------------------------------------


class Item(msgspec.Struct):
    name: str
    price: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
    description: str | None = None
    tax: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] | None = None


class PricedItem(msgspec.Struct):
    name: str
    price: float
    description: str | None
    tax: float | None
    price_with_tax: float


@app.post("/items", status_code=201, tags=["items"])
async def create_item(item: Item) -> PricedItem:
    """A ``msgspec.Struct`` parameter is the JSON body; optional fields may be left out."""
    total = item.price + (item.tax or 0.0)
    return PricedItem(item.name, item.price, item.description, item.tax, total)


class UpdatedItem(msgspec.Struct):
    item_id: int
    item: Item
    q: str | None = None


@app.put("/items/{item_id}", tags=["items"])
async def update_item(item_id: int, item: Item, q: str | None = None) -> UpdatedItem:
    """Body, path and query parameters together, each found by its type and name."""
    return UpdatedItem(item_id, item, q)


@app.put("/items/{item_id}/embedded", tags=["items"])
async def update_item_embedded(item_id: int, item: Annotated[Item, Body(embed=True)]) -> UpdatedItem:
    """``Body(embed=True)`` expects ``{"item": {...}}`` even for a single body parameter."""
    return UpdatedItem(item_id, item)


class Owner(msgspec.Struct):
    username: str
    full_name: str | None = None


class ItemWithOwner(msgspec.Struct):
    item_id: int
    item: Item
    owner: Owner
    importance: int


@app.put("/items/{item_id}/owner", tags=["items"])
async def update_item_owner(
    item_id: int,
    item: Item,
    owner: Owner,
    importance: Annotated[Annotated[int, msgspec.Meta(ge=1, le=5)], Body()],
) -> ItemWithOwner:
    """Several body parameters: the body is ``{"item": ..., "owner": ..., "importance": 3}``."""
    return ItemWithOwner(item_id, item, owner, importance)


# --- headers and cookies ------------------------------------------------------------------------------


@app.get("/headers", tags=["basics"])
async def read_headers(
    user_agent: Annotated[str | None, Header()] = None,
    x_token: Annotated[list[str], Header(description="May be sent several times")] = [],  # noqa: B006
) -> dict[str, Any]:
    """``Header()`` reads ``user_agent`` from ``User-Agent``; a list collects repeated headers."""
    return {"user_agent": user_agent, "x_token": x_token}


@app.get("/cookies", tags=["basics"])
async def read_cookies(ads_id: Annotated[str | None, Cookie()] = None) -> dict[str, str | None]:
    """``Cookie()`` reads a cookie by the parameter's name."""
    return {"ads_id": ads_id}


# --- dependencies --------------------------------------------------------------------------------------


async def common_parameters(
    q: str | None = None, skip: int = 0, limit: Annotated[int, msgspec.Meta(ge=0)] = 100
) -> dict[str, Any]:
    """Query parameters shared by several endpoints, declared once."""
    return {"q": q, "skip": skip, "limit": limit}


CommonsDep = Annotated[dict[str, Any], Depends(common_parameters)]


@app.get("/catalog/items", tags=["dependencies"])
async def catalog_items(commons: CommonsDep) -> dict[str, Any]:
    """A function dependency: ``common_parameters`` takes the query, the handler gets its result."""
    return commons


@app.get("/catalog/users", tags=["dependencies"])
async def catalog_users(commons: CommonsDep) -> dict[str, Any]:
    """The same dependency, reused by a second endpoint."""
    return commons


class CommonQueryParams:
    """A class as a dependency: its ``__init__`` parameters are the query parameters."""

    def __init__(
        self, q: str | None = None, skip: int = 0, limit: Annotated[int, msgspec.Meta(ge=0)] = 100
    ) -> None:
        self.q = q
        self.skip = skip
        self.limit = limit


class Page(msgspec.Struct):
    q: str | None
    items: list[dict[str, str]]


@app.get("/catalog/page", tags=["dependencies"])
async def catalog_page(commons: Annotated[CommonQueryParams, Depends()]) -> Page:
    """``Depends()`` with no argument uses the annotated class itself."""
    return Page(commons.q, FAKE_ITEMS_DB[commons.skip : commons.skip + commons.limit])


def query_extractor(q: str | None = None) -> str | None:
    return q


def query_or_cookie_extractor(
    q: Annotated[str | None, Depends(query_extractor)],
    last_query: Annotated[str | None, Cookie()] = None,
) -> str | None:
    """A sub-dependency: fall back to the ``last_query`` cookie when ``?q=`` is absent."""
    return q if q is not None else last_query


@app.get("/catalog/query", tags=["dependencies"])
async def catalog_query(
    query: Annotated[str | None, Depends(query_or_cookie_extractor)],
) -> dict[str, str | None]:
    """Dependencies may depend on other dependencies."""
    return {"q_or_cookie": query}


SECRET_TOKEN = "fake-super-secret-token"
SECRET_KEY = "fake-super-secret-key"


async def verify_token(x_token: Annotated[str, Header()]) -> None:
    if x_token != SECRET_TOKEN:
        raise HTTPException(400, "X-Token header invalid")


async def verify_key(x_key: Annotated[str, Header()]) -> str:
    if x_key != SECRET_KEY:
        raise HTTPException(401, "X-Key header invalid", headers={"WWW-Authenticate": "Key"})
    return x_key


@app.get(
    "/protected/items",
    tags=["dependencies"],
    dependencies=[Depends(verify_token), Depends(verify_key)],
    responses={400: error_response("Bad X-Token"), 401: error_response("Bad X-Key")},
)
async def protected_items() -> list[dict[str, str]]:
    """Dependencies in the decorator run (and may reject the request) but pass no value."""
    return [{"item": "Portal Gun"}, {"item": "Plumbus"}]


class FakeSession:
    """Stands in for a database session; records when it is closed."""

    def __init__(self) -> None:
        self.closed = False
        self.error: BaseException | None = None

    def get(self, item_id: int) -> dict[str, Any] | None:
        return {"id": item_id, "name": f"Item {item_id}"} if item_id < 100 else None


#: Every session ``get_db`` opened, newest last (the tests look at them).
SESSIONS: list[FakeSession] = []


def get_db() -> Iterator[FakeSession]:
    """A ``yield`` dependency: the code after ``yield`` runs once the response is sent."""
    session = FakeSession()
    SESSIONS.append(session)
    try:
        yield session
    except HTTPException as exc:
        session.error = exc  # teardown sees the handler's exception...
        raise  # ...and lets it become the response
    finally:
        session.closed = True


@app.get("/db/items/{item_id}", tags=["dependencies"], responses={404: error_response("No such item")})
def read_db_item(
    item_id: Annotated[int, Path(ge=1)], db: Annotated[FakeSession, Depends(get_db)]
) -> dict[str, Any]:
    """A sync handler (run in a worker thread) using a per-request session.

    ``Path(ge=1)`` is the same as ``msgspec.Meta(ge=1)``: a value below 1 is a 422.
    """
    item = db.get(item_id)
    if item is None:
        raise HTTPException(404, "Item not found")
    return item


class FakeHTTPClient:
    """Stands in for a connection pool: expensive to open, shared by every request."""

    def __init__(self) -> None:
        self.requests = 0
        self.closed = False


#: Every client ``get_http_client`` made (one per app lifetime).
CLIENTS: list[FakeHTTPClient] = []


async def get_http_client() -> AsyncIterator[FakeHTTPClient]:
    """App-scoped: made once at startup, closed at shutdown."""
    client = FakeHTTPClient()
    CLIENTS.append(client)
    try:
        yield client
    finally:
        client.closed = True


@app.get("/pool", tags=["dependencies"])
async def pool_status(
    client: Annotated[FakeHTTPClient, Depends(get_http_client, scope="app")],
) -> dict[str, int]:
    """Every request sees the same client object."""
    client.requests += 1
    return {"client_id": id(client), "requests": client.requests}


# --- handling errors -------------------------------------------------------------------------------------

ARTICLES = {"intro": "Welcome to the tutorial"}


@app.get(
    "/articles/{slug}",
    tags=["errors"],
    responses={404: error_response("No such article")},
)
async def read_article(slug: str) -> dict[str, str]:
    """``HTTPException`` with a detail and extra headers."""
    if slug not in ARTICLES:
        raise HTTPException(404, "Article not found", headers={"X-Error": "missing-article"})
    return {"slug": slug, "text": ARTICLES[slug]}


class UnicornError(Exception):
    """An application exception, turned into a response by its own handler."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@app.errorhandler(UnicornError)
async def unicorn_error(exc: UnicornError) -> JSONResponse:
    return JSONResponse({"message": f"Oops! {exc.name} did something. There goes a rainbow..."}, 418)


_TEAPOT = {
    "description": "A unicorn misbehaved",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            }
        }
    },
}


@app.get("/unicorns/{name}", tags=["errors"], responses={418: _TEAPOT})
async def read_unicorn(name: str) -> dict[str, str]:
    """Raises ``UnicornError`` for the name ``yolo``; ``@app.errorhandler`` makes it a 418."""
    if name == "yolo":
        raise UnicornError(name)
    return {"unicorn_name": name}


class UserIn(msgspec.Struct):
    username: str
    password: str
    email: str
    full_name: str | None = None


class UserOut(msgspec.Struct):
    username: str
    email: str
    full_name: str | None = None


class UserInDB(msgspec.Struct):
    username: str
    hashed_password: str
    email: str
    full_name: str | None = None


ACCOUNTS: dict[str, UserInDB] = {
    "alice": UserInDB("alice", "hashed:wonderland", "alice@example.com", "Alice Liddell"),
}


@app.post("/accounts", status_code=201, response_model=UserOut, tags=["errors"])
async def create_account(user: UserIn) -> UserIn:
    """``response_model=UserOut`` drops the password from what is sent back."""
    return user


@app.get(
    "/accounts/{username}",
    response_model=UserOut,
    tags=["errors"],
    responses={404: error_response("No such user")},
)
async def read_account(username: str) -> UserInDB:
    """The stored user has a hashed password; the public model never shows it."""
    if username not in ACCOUNTS:
        raise HTTPException(404, "User not found")
    return ACCOUNTS[username]
