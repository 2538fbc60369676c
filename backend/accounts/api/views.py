"""API tokens: ``POST /api/auth/token/`` (username, password and, for the roles that need a
second factor, ``otp``) and ``POST /api/auth/logout/``.

Tokens are django-rest-knox tokens (``accounts.authentication``): only a hash is stored, each
expires (``CGH_API_TOKEN_HOURS``, default 10 h), logout deletes the token used, a password change
deletes them all, a new token deletes the user's expired ones. The password goes through the
same throttled backend as the web login (``accounts.lockout``); a wrong code is a failed login
too, so it is throttled and audited the same way.
"""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_login_failed
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.exceptions import DomainError

from ..authentication import TokenAuthentication, delete_expired_tokens
from ..second_factor import has_confirmed_device, requires_second_factor, verify_code


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp = serializers.CharField(max_length=16, required=False, allow_blank=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField()


class AuthenticationRefused(DomainError):
    status_code = 400
    code = "invalid_credentials"


class TokenObtainView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer,
                                                              400: OpenApiResponse(description="Refused.")})
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username, password = data.validated_data["username"], data.validated_data["password"]
        user = authenticate(request._request, username=username, password=password)
        if user is None:
            raise AuthenticationRefused("Unable to log in with the credentials provided.")
        if requires_second_factor(user):
            if not has_confirmed_device(user):
                raise AuthenticationRefused("Enrol a second factor in the web interface before asking for a token.",
                                            code="second_factor_enrolment_required")
            if verify_code(user, data.validated_data.get("otp", "")) is None:
                user_login_failed.send(sender=__name__, credentials={"username": username},
                                       request=request._request)
                raise AuthenticationRefused("A valid second-factor code (otp) is required for this account.",
                                            code="second_factor_required")
        delete_expired_tokens(user)
        instance, token = AuthToken.objects.create(user=user)
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": token, "expiry": instance.expiry})


class LogoutView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        request._auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
