from django.urls import path

from queueing import consumers

websocket_urlpatterns = [
    path("ws/board/<slug:center>/", consumers.BoardScreen.as_asgi()),
    path("ws/reception/", consumers.ReceptionScreen.as_asgi()),
    path("ws/desk/", consumers.DeskScreen.as_asgi()),
    path("ws/supervisor/", consumers.SupervisorScreen.as_asgi()),
    path("ws/t/<str:token>/", consumers.VisitorScreen.as_asgi()),
]
